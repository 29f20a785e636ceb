# FEC triplets in mmfer's simple format (convert the official CSV with
# tools/dataset_converters/fec.py):  annotations/{train,test}.csv + images/
# Each sample is a triplet (img_path = its 3 image paths); mmpretrain's ApplyToList runs the
# per-image pipeline on each of them and PackInputs packs `inputs` as a list of 3 tensors
# (gt_label = index of the odd one out).
dataset_type = 'FEC'
data_root = 'data/fec/'
img_size = 224

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

image_train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(img_size + 16, img_size + 16)),
    dict(type='RandomCrop', crop_size=img_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
image_test_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(img_size, img_size)),
]
train_pipeline = [
    dict(type='ApplyToList', transforms=image_train_pipeline, scatter_key='img_path',
         collate_keys=['img']),
    dict(type='PackInputs', meta_keys=['triplet_type', 'img_paths']),
]
test_pipeline = [
    dict(type='ApplyToList', transforms=image_test_pipeline, scatter_key='img_path',
         collate_keys=['img']),
    dict(type='PackInputs', meta_keys=['triplet_type', 'img_paths']),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 pipeline=test_pipeline, test_mode=True),
)
val_evaluator = dict(type='TripletAccuracy', distances=('l2', 'cosine'))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
