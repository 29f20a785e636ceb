# SSL-FER downstream data, FER2013 (§4.2): fer2013.csv (48x48 grey), Training for training;
# "We reported the results on the test split, with the best performance model on the
# validation split": val = PublicTest (checkpoint selection), test = PrivateTest. Batch 64.
# Training augmentation as in pre-training (§4.1) EXCEPT the landmark-based masking: FER2013
# ships no landmarks (the paper detects them with dlib) and mmfer's FER2013 dataset has no
# landmark input, so the masking step is left out here (a deviation from §4.1).
dataset_type = 'FER2013'
data_root = 'data/fer2013/'
data_preprocessor = dict(
    num_classes=7,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(128, 128)),
    dict(type='RandomCrop', crop_size=112),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='SafeColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(128, 128)),
    dict(type='CenterCrop', crop_size=112),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='FERClsMetric', num_classes=7)
test_evaluator = val_evaluator

# Training images per class of fer2013.csv (Usage = Training; Angry, Disgust, Fear, Happy, Sad,
# Surprise, Neutral; 28,709 in all, the number §4.2 gives) for the Balanced Softmax loss (§4.3
# adopts it for emotion classification).
class_counts = [3995, 436, 4097, 7215, 4830, 3171, 4965]
