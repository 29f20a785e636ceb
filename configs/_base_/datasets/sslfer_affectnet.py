# SSL-FER downstream data: AffectNet (official CSV layout, face-box crop), 128 -> 112 crops as
# in pre-training; the validation set is the test set. Classification: 8 classes; VA configs
# pack gt_va (valence, arousal) for the CCC loss and VAMetric.
dataset_type = 'AffectNet'
data_root = 'data/affectnet/'
num_classes = 8
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='CropFaceBox'),
    dict(type='Resize', scale=(128, 128)),
    dict(type='RandomCrop', crop_size=112),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('gt_va', )),
]
test_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='CropFaceBox'),
    dict(type='Resize', scale=(128, 128)),
    dict(type='CenterCrop', crop_size=112),
    dict(type='PackInputs', algorithm_keys=('gt_va', )),
]
train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 num_classes=num_classes, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 num_classes=num_classes, pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
