# Copyright (c) mmfer contributors. All rights reserved.
# MS1M (InsightFace RecordIO train.rec/.idx + pseudo-landmarks) for ContraWarping on SimSiam and
# MoCo v2, whose original augmentation is MoCo v2's (mmpretrain
# configs/_base_/datasets/imagenet_bs32_mocov2.py, which mmpretrain's SimSiam configs use too):
# §4.3 "We keep the same settings as the original SSL method by default, except no random crop
# is adopted for x1 to perform landmark detection". x1 = that view without the random crop
# (resized to 224, its flip moves the landmarks), x2 = that view, x3 = RW(x1) (RW†); the rest as
# in ms1m_contrawarp_byol.py.
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

jitter = dict(
    type='RandomApply',
    transforms=[
        dict(type='SafeColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    ],
    prob=0.8)
grayscale = dict(
    type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989))
blur = dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5)
# MoCo v2's view (both views of the plain SimSiam / MoCo v2 baselines; x2 here)
view_pipeline = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.), backend='pillow'),
    jitter,
    grayscale,
    blur,
    dict(type='RandomFlip', prob=0.5),
]
# x1: that view without the random crop
view_pipeline_x1 = [
    dict(type='FaceResize', scale=224),
    jitter,
    grayscale,
    blur,
    dict(type='FaceRandomFlip', prob=0.5),
]
contrawarp_views = dict(
    type='ContraWarpViews',
    view_pipelines=[view_pipeline_x1, view_pipeline],
    # §4.3 warps (see ms1m_contrawarp_byol.py), centred on jittered landmarks (RW†)
    warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='landmark'),
    moved_weight=1.0,
    unmoved_weight=0.1,
    codec=dict(type='MSRAHeatmap', input_size=(224, 224), heatmap_size=(56, 56), sigma=1.5))

train_pipeline = [
    dict(type='LoadFaceImage', ignore_empty=True),
    contrawarp_views,
    dict(type='PackContraWarpInputs'),
]
# the plain SimSiam / MoCo v2 baselines: two MoCo v2 views
baseline_train_pipeline = [
    dict(type='LoadFaceImage', ignore_empty=True),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
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
        landmark_file='landmarks.npz',
        missing_landmarks='drop',
        pipeline=train_pipeline))
