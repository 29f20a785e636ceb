# A tiny supervised config for runner/launcher tests: mmpretrain ImageClassifier + CustomDataset.
# Tests set train_dataloader.dataset.data_root to a folder of class sub-folders they write.
_base_ = ['../../../configs/_base_/default_runtime.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=2, in_channels=64,
              loss=dict(type='CrossEntropyLoss')))
data_preprocessor = dict(num_classes=2, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True)
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(type='CustomDataset', data_root='', pipeline=train_pipeline),
    sampler=dict(type='InfiniteSampler', shuffle=True))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=8, by_epoch=False)]
train_cfg = dict(by_epoch=False, max_iters=8)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=4, by_epoch=False, max_keep_ckpts=5))
randomness = dict(seed=0, deterministic=True)
