# Aff-Wild2 expression track (ABAW5), official release layout under data_root:
#   annotations/EXPR_Classification_Challenge/{Train_Set,Validation_Set}/<video>.txt
#   cropped_aligned/<video>/<NNNNN>.jpg   (112x112 aligned faces)
# Training draws one frame in every 10 per video with a random offset per video and per
# epoch (VideoFrameSampler + dataset.frame_interval); validation uses every frame.
dataset_type = 'AffWild2Expr'
data_root = 'data/affwild2/'

data_preprocessor = dict(
    num_classes=8,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

meta_keys = ('sample_idx', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction', 'video', 'frame')
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(240, 240)),
    dict(type='RandomCrop', crop_size=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(240, 240)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs', meta_keys=meta_keys),
]

train_dataloader = dict(
    # per GPU: the ABAW5 total of 128 on 1 GPU; use 16 on 8 GPUs
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    # class_balanced=True: ClassBalancedSampler behaviour on the epoch's frames
    sampler=dict(type='VideoFrameSampler', shuffle=True, class_balanced=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', frame_interval=10,
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 pipeline=test_pipeline),
)
# macro-F1 over the 8 classes is the challenge metric (key fer/macro_f1)
val_evaluator = dict(type='FERClsMetric', num_classes=8)

test_dataloader = val_dataloader
test_evaluator = val_evaluator
