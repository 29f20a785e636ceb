# Fine-tuning on RAF-DB, the papers' "baseline" recipe: ResNet-18, random crop + flip, CE.
# From scratch by default; from a self-supervised checkpoint (its backbone.* keys load into
# the classifier's backbone, the other keys are reported as unexpected and ignored) with
#   python tools/train.py configs/benchmarks/finetune_rafdb_r18.py --cfg-options load_from=CKPT
_base_ = ['../_base_/datasets/rafdb.py', '../_base_/default_runtime.py']

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
