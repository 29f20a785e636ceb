# EmoCo pre-training (Sun, Zeng, Shan, FG 2021) on AffectNet's 7 basic expressions: MoCo v2 with
# one queue of K = 65536 keys per emotion, emotion classifier (CE, lambda = 1) and intra-class
# normalisation; InfoNCE tau = 0.2; SGD lr 0.03 x batch / 256 (momentum 0.9, wd 1e-4), cosine,
# 200 epochs, batch 256 = 4 GPUs x 64 (§IV.B.2: "The batch size is 256 by default, which is
# friendly to typical 4-GPU implementations"), SyncBN on GPU.
#   tools/dist_train.sh configs/emoco/emoco_resnet50_4xb64-coslr-200e_affectnet7.py 4
# Memory: the multi-queue holds 7 x 65536 x 128 floats (235 MB); see the _k4096 config for a
# small dictionary.
_base_ = [
    '../_base_/models/emoco_resnet50.py',
    '../_base_/datasets/emoco_affectnet7.py',
    '../_base_/schedules/emoco_sgd-coslr-200e.py',
    '../_base_/default_runtime.py',
]
sync_bn = 'torch'
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
