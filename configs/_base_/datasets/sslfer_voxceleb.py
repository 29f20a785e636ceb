# Copyright (c) mmfer contributors. All rights reserved.
# SSL-FER pre-training data: VoxCeleb frames <identity>/<video>/<frame>.jpg at 25 fps.
# Views (order of `inputs`, also data_samples.view_roles):
#   anchor   - frame t;
#   positive - TimeAug frame t + Δ (|Δ| <= 1 s, decreasing density), FaceSwap'ed onto another
#              identity with p = 0.5 (data_samples.face_swapped);
#   hardneg  - frame of the same video with |Δ| >= 3 s (zeros + hardneg_valid=False if none).
# Every view: resize 128 -> random crop 112 -> flip -> colour jitter / grey.
dataset_type = 'VoxCelebFrames'
data_root = 'data/voxceleb/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

view_pipeline = [
    dict(type='FaceResize', scale=128),
    dict(type='RandomCrop', crop_size=112),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='SafeColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
]
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='TimeAug', max_offset=1.0, distribution='linear'),
    dict(type='FaceSwap', prob=0.5),
    dict(type='HardNeg', min_offset=3.0),
    dict(type='ApplyToViews', transforms=view_pipeline,
         views=('anchor', 'positive', 'hardneg')),
    dict(type='PackMultiViewInputs',
         view_roles=('anchor', 'positive', 'hardneg'),
         data_keys=('identity', 'video', 'frame', 'time_offset', 'hardneg_valid',
                    'face_swapped')),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='frames/'),
        landmark_file='landmarks.npz',
        fps=25,
        pipeline=train_pipeline))
