# Copyright (c) mmfer contributors. All rights reserved.
# SSL-FER pre-training data (§3.2-3.3, §4.1): VoxCeleb1 frames <identity>/<video>/<frame>.jpg
# at 25 fps with 68-point landmarks (landmarks.npz). Views (order of `inputs`, also
# data_samples.view_roles):
#   anchor           - frame t;
#   positive         - TimeAug frame t + Δ (|Δ| <= T1 = 1 s, decreasing density), FaceSwap'ed
#                      onto another identity with p = 0.5 (rows with FaceSwap);
#   hardneg          - frame of the same video with |Δ| >= T2 = 3 s (zeros +
#                      hardneg_valid=False if none);
#   hardneg_positive - TimeAug frame of the hard negative (+ FaceSwap with p = 0.5), making
#                      the hard negative a full instance: the hard-negative *pair* of Fig. 4
#                      (the authors' code does the same).
# The default `train_pipeline` is the full model (Tab. 1 row f); the other rows set theirs.
dataset_type = 'VoxCelebFrames'
data_root = 'data/voxceleb/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# Every view, §4.1 "Data augmentation": landmark-based masking (eyes or mouth), resizing
# (128, 128), random crop (112, 112), horizontal flipping, Gaussian blurring, colour jittering,
# random grayscale. The paper gives no probabilities or strengths: masking p = 0.8 (one of left
# eye / right eye / mouth) is the authors' released code; blur sigma ~ U(0.1, 2), p = 0.5 is
# SimCLR's (mmpretrain's GaussianBlur); jitter 0.4/0.4/0.4/0.1 with p = 0.8 and grey p = 0.2
# are MoCo v2's. The landmark-aware Face* transforms keep every view's landmarks valid (MaskFN
# crops the anchor's eyes and mouth).
view_pipeline = [
    dict(type='RandomLandmarkMask', prob=0.8),
    dict(type='FaceResize', scale=128),
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
]
all_views = ('anchor', 'positive', 'hardneg', 'hardneg_positive')
pack_meta_keys = ('sample_idx', 'img_path', 'ori_shape', 'img_shape', 'gt_keypoints')

train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='TimeAug', max_offset=1.0),
    dict(type='FaceSwap', prob=0.5),
    dict(type='HardNeg', min_offset=3.0),
    dict(type='TimeAug', max_offset=1.0, anchor_role='hardneg', role='hardneg_positive'),
    dict(type='FaceSwap', prob=0.5, role='hardneg_positive'),
    dict(type='ApplyToViews', transforms=view_pipeline, views=all_views),
    dict(type='PackMultiViewInputs', view_roles=all_views,
         data_keys=('identity', 'video', 'frame', 'time_offset', 'hardneg_valid',
                    'face_swapped'),
         meta_keys=pack_meta_keys),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='frames/'),
        landmark_file='landmarks.npz',
        fps=25,
        pipeline=train_pipeline))
