# RAF-DB basic (7 classes), official release layout under data_root:
#   EmoLabel/list_patition_label.txt ("train_00001.jpg 5"), Image/aligned/*_aligned.jpg (100x100)
# Classes in RAF-DB's own order: Surprise, Fear, Disgust, Happiness, Sadness, Anger, Neutral.
dataset_type = 'RAFDB'
data_root = 'data/rafdb/'
img_size = 224

data_preprocessor = dict(
    num_classes=7,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

# the "baseline" augmentation of the papers: random crop + horizontal flip
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(img_size + 16, img_size + 16)),
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
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 pipeline=test_pipeline, test_mode=True),
)
val_evaluator = dict(type='FERClsMetric', num_classes=7)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
