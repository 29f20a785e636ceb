# SSL-FER downstream data, AffectNet (§4.1-4.2): official CSV layout, face-box crop, the
# manually annotated training set for training and the validation set as the test set (the
# papers' protocol). 8 classes for classification; gt_va (valence, arousal) is packed too for
# the valence/arousal configs. Batch 64 (§4.1: "the same set of hyper-parameters across all
# models for each downstream task, with a batch size of 64").
# Training augmentation as in pre-training (§4.1: "for both contrastive learning and downstream
# evaluation"): landmark-based masking (the CSV's 68 landmarks, with_landmarks=True), resize
# 128, random crop 112, flip, Gaussian blur, colour jitter, grey; test: resize 128, centre crop.
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
    dict(type='RandomLandmarkMask', prob=0.8),
    dict(type='FaceResize', scale=128),  # Face*: move the landmarks with the image
    dict(type='FaceRandomCrop', crop_size=112),
    dict(type='FaceRandomFlip', prob=0.5),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='SafeColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
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
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 num_classes=num_classes, with_landmarks=True, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 num_classes=num_classes, pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader

# Training-set images per class (AffectNet manually annotated training.csv, codes 0-7: Neutral,
# Happy, Sad, Surprise, Fear, Disgust, Anger, Contempt) for the Balanced Softmax loss. The
# AffectNet dataset logs the counts of your copy: put them here if they differ.
class_counts = [74874, 134415, 25459, 14090, 6378, 3803, 24882, 3750]
