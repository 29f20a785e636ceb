# Fine-tuning on RAF-DB, the "baseline" recipe of ContraWarping Tab. 6 ("Baseline + Ours":
# 89.18 %; the abstract's supervised references are 89.18 % / 84.81 % with / without
# pre-training): ResNet-18, random crop + flip, CE. The paper gives no optimiser or schedule;
# the ones below are ours. From scratch by default; from a self-supervised checkpoint with
#   python tools/train.py configs/contrawarp/benchmarks/resnet18_1xb64-coslr-40e_rafdb.py \
#       --cfg-options load_from=CKPT
# (load_from needs every backbone weight of CKPT -- backbone.* keys or a plain backbone state
# dict such as torchvision's -- or the run stops; the FC head starts random.)
_base_ = ['../../_base_/datasets/rafdb.py', '../../_base_/default_runtime.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=18,
        out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=7,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
load_from = None  # the self-supervised checkpoint

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=38, by_epoch=True, begin=2, end=40),
]
train_cfg = dict(by_epoch=True, max_epochs=40, val_interval=2)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2,
                                     save_best='fer/accuracy', rule='greater'))
