# SSL-FER Table 1 row (f), the full model: TimeAug + HardNeg + FaceSwap + MaskFN
# (L = L1 + 1/2 L2, N_FN = 1). Its 210-epoch checkpoint is the paper's final model (Tab. 3).
# VoxCeleb1 frames, ResNet-50, 128 -> 112 crops, Adam 3e-4 / wd 1e-4, batch 256 (4 GPUs x 64;
# the paper gives the batch, not the GPU count), cosine from epoch 10, 210 epochs.
# Launch: tools/dist_train.sh <this config> 4
_base_ = [
    '../_base_/models/sslfer_resnet50.py',
    '../_base_/datasets/sslfer_voxceleb.py',
    '../_base_/schedules/sslfer_adam-coslr-210e.py',
    '../_base_/default_runtime.py',
]
sync_bn = 'torch'  # SyncBN on GPUs; reverted to BN by tools/train.py on CPU-only runs
# checkpoints every 5 epochs once the instance-discrimination top-1 reaches 60 % (§4.1)
default_hooks = dict(checkpoint=dict(
    _delete_=True, type='InstDiscCheckpointHook', interval=5, min_accuracy=60.0))

model = dict(use_hardneg=True, target_generator={{_base_.maskfn_descriptor}})
# train_pipeline: the default of configs/_base_/datasets/sslfer_voxceleb.py
# Online monitor of expression vs identity during pre-training (off): add
# '../_base_/feature_monitor.py' to _base_ and
#   custom_hooks = [{{_base_.feature_monitor}}]
