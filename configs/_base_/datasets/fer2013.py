# FER2013 from fer2013.csv under data_root (emotion,pixels,Usage; 48x48 grey).
# split: train = Training, val = PublicTest, test = PrivateTest. Convert the CSV's pixels to
# PNGs once (the dataset writes nothing and refuses images converted from another CSV):
#   python tools/dataset_converters/fer2013.py data/fer2013/fer2013.csv
# -> data/fer2013/fer2013_images/{manifest.json,Training,PublicTest,PrivateTest}/ (img_dir)
dataset_type = 'FER2013'
data_root = 'data/fer2013/'
img_size = 112

data_preprocessor = dict(
    num_classes=7,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(img_size + 8, img_size + 8)),
    dict(type='RandomCrop', crop_size=img_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 pipeline=test_pipeline, test_mode=True),
)
val_evaluator = dict(type='FERClsMetric', num_classes=7)
test_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 pipeline=test_pipeline, test_mode=True),
)
test_evaluator = val_evaluator
