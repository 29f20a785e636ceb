# Fine-tuning on AffectNet (7 classes), the "baseline" recipe of ContraWarping Tab. 6
# ("Baseline + Ours": 64.94 %): ResNet-18, face-box crop, random crop + flip, CE. The paper
# gives no optimiser or schedule; the ones below are ours. From a self-supervised checkpoint:
#   python tools/train.py configs/contrawarp/benchmarks/resnet18_1xb64-coslr-20e_affectnet.py \
#       --cfg-options load_from=CKPT
# (load_from needs every backbone weight of CKPT; the FC head starts random.)
# 8 classes: set num_classes=8 in train/val dataset, data_preprocessor and head (the
# `num_classes` variable of the base file is resolved when this file is read).
_base_ = ['../../_base_/datasets/affectnet.py', '../../_base_/default_runtime.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes={{_base_.num_classes}},
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
load_from = None  # the self-supervised checkpoint

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=19, by_epoch=True, begin=1, end=20),
]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='fer/macro_f1', rule='greater'))
