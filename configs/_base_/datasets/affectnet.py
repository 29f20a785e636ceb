# AffectNet (manually annotated), official layout under data_root:
#   Manually_Annotated_file_lists/{training,validation}.csv, Manually_Annotated_Images/<sub>/<img>
# num_classes 7 (drops Contempt) or 8; codes 8-10 (None/Uncertain/No-Face) are dropped and
# counted. The validation set is the test set of the papers. Images are full pictures:
# CropFaceBox crops them to the CSV face box (set crop_face=False for pre-cropped images).
dataset_type = 'AffectNet'
data_root = 'data/affectnet/'
num_classes = 7
img_size = 224

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='CropFaceBox'),
    dict(type='Resize', scale=(img_size + 16, img_size + 16)),
    dict(type='RandomCrop', crop_size=img_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='CropFaceBox'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 num_classes=num_classes, pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 num_classes=num_classes, pipeline=test_pipeline, test_mode=True),
)
val_evaluator = dict(type='FERClsMetric', num_classes=num_classes)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
