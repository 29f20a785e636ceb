# SSL-FER downstream, FER2013 (7 classes): finetune encoder + 3-layer MLP head with CE;
# metric: accuracy (fer/accuracy) on PublicTest (val) and PrivateTest (test).
# Faces are 48x48 grey, resized to 128 then cropped to 112 as in pre-training.
_base_ = [
    '../_base_/datasets/fer2013.py', '_downstream_model_schedule.py',
    '../_base_/default_runtime.py'
]
img_size = 112
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(128, 128)),
    dict(type='RandomCrop', crop_size=112),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(128, 128)),
    dict(type='CenterCrop', crop_size=112),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(
    head=dict(
        type='MLPClsHead',
        num_classes=7,
        in_channels=512,
        hid_channels=512,
        num_layers=3,
        loss=dict(type='CrossEntropyLoss')))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='fer/accuracy', rule='greater'))
