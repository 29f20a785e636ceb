# Copyright (c) mmfer contributors. All rights reserved.
# MS1M (InsightFace RecordIO train.rec/.idx + pseudo-landmarks) for ContraWarping on BYOL.
# Views (§3.1, §4.3): x1 and x2 are BYOL's two views (mmpretrain
# configs/_base_/datasets/imagenet_bs32_byol.py; SafeColorJitter is mmpretrain's ColorJitter
# with a hue shift that works under numpy 2), except that x1 is not randomly cropped ("no
# random crop is adopted for x1 to perform landmark detection") and its resize and flip move the
# landmarks; x3 = RW(x1), two local warps centred on landmarks (RW†). Landmark weights 1.0
# (moved) / 0.1 (unmoved) (§3.3), heatmaps 224 -> 56 with sigma 1.5 (§4.3; the paper gives no
# heatmap size, 56 is what the head predicts from a ResNet's 7x7 map).
# The paper says MS1M has "about 3.8M facial images" (§4.2) and does not name the release;
# InsightFace's faces_emore (MS1M-ArcFace) is larger: the dataset logs the count it reads.
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

jitter = dict(
    type='RandomApply',
    transforms=[
        dict(type='SafeColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
    ],
    prob=0.8)
grayscale = dict(
    type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989))
# BYOL's views, for the plain BYOL baseline
view_pipeline1 = [
    dict(type='RandomResizedCrop', scale=224, interpolation='bicubic', backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    jitter,
    grayscale,
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=1.),
    dict(type='Solarize', thr=128, prob=0.),
]
view_pipeline2 = [
    dict(type='RandomResizedCrop', scale=224, interpolation='bicubic', backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    jitter,
    grayscale,
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
]
# x1: BYOL's first view without the random crop (MS1M faces are 112 px: resized to 224)
view_pipeline_x1 = [
    dict(type='FaceResize', scale=224),
    dict(type='FaceRandomFlip', prob=0.5),
    jitter,
    grayscale,
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=1.),
]
contrawarp_views = dict(
    type='ContraWarpViews',
    view_pipelines=[view_pipeline_x1, view_pipeline2],
    # §4.3: n = 2 warps, c ~ U(50, 150), |m - c|² ~ U(100, 200), r ~ U(50, 80), strength
    # U(150, 300) as K0 = 100 / strength in Eq. (1) (strength_mode='denominator'; the paper does
    # not define the strength, see RandomLocalWarp); centres on jittered landmarks (RW†)
    warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='landmark'),
    moved_weight=1.0,
    unmoved_weight=0.1,
    codec=dict(type='MSRAHeatmap', input_size=(224, 224), heatmap_size=(56, 56), sigma=1.5))

# LoadFaceImage reads the 'recordio://<rec>#<key>' paths MS1MRecordIO lists; a corrupt record
# is skipped, counted and logged (another image is drawn)
train_pipeline = [
    dict(type='LoadFaceImage', ignore_empty=True),
    contrawarp_views,
    dict(type='PackContraWarpInputs'),
]
# the plain BYOL baseline: both views as in BYOL
baseline_train_pipeline = [
    dict(type='LoadFaceImage', ignore_empty=True),
    dict(type='MultiView', num_views=[1, 1], transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='MS1MRecordIO',
        data_root='data/faces_emore/',
        rec_file='train.rec',
        landmark_file='landmarks.npz',  # tools/landmarks/extract_landmarks.py
        missing_landmarks='drop',  # RW† and LD need landmarks (the count is logged)
        pipeline=train_pipeline))
