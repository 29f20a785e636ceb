# SSL-FER with TimeAug + HardNeg (the paper's Tab. 1 row b idea; MaskFN needs ImageNet weights and
# FaceSwap is left out), the narrow ResNet-18 of the SSL study (not a paper row), pre-trained on
# the synthetic talking-face clips of the study's pre-training people (VoxCeleb layout, 25 fps,
# 6 s per clip): the anchor, a TimeAug positive (a frame <= 1 s away), a hard negative (a frame
# of the same clip >= 3 s away) and its own TimeAug positive. The optimiser, schedule, batch and
# iterations of the BYOL row (SGD instead of the paper's Adam: one setting for every method).
_base_ = [
    '../_base_/models/sslfer_resnet50.py',
    '../_base_/datasets/ssl_study_synthetic48.py',
    '../_base_/schedules/ssl_study_sgd-coslr.py',
    '../_base_/default_runtime.py',
]

model = dict(
    use_hardneg=True,
    backbone=dict(depth=18, base_channels=16, stem_channels=16),
    # SimCLR's 2-layer projector, hidden width = feature width (as the paper's R50: 2048)
    neck=dict(in_channels=128, hid_channels=128, out_channels=128))

# SSL-FER's view augmentations (configs/_base_/datasets/sslfer_voxceleb.py) at 48 px: landmark
# masking, resize 128 -> random crop 112 scaled to 55 -> 48, flip, blur (sigma scaled by
# 48 / 112), colour jitter, grayscale
view_pipeline = [
    dict(type='RandomLandmarkMask', prob=0.8),
    dict(type='FaceResize', scale=55),
    dict(type='FaceRandomCrop', crop_size=48),
    dict(type='FaceRandomFlip', prob=0.5),
    dict(type='GaussianBlur', magnitude_range=(0.04, 0.86), magnitude_std='inf', prob=0.5),
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
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='VoxCelebFrames',
        data_root={{_base_.data_root}} + 'videos',
        data_prefix=dict(img_path='frames/'),
        landmark_file='landmarks.npz',
        fps=25,
        pipeline=[
            dict(type='LoadFaceImage'),
            dict(type='TimeAug', max_offset=1.0),
            dict(type='HardNeg', min_offset=3.0),
            dict(type='TimeAug', max_offset=1.0, anchor_role='hardneg',
                 role='hardneg_positive'),
            dict(type='ApplyToViews', transforms=view_pipeline, views=all_views),
            dict(type='PackMultiViewInputs', view_roles=all_views,
                 data_keys=('identity', 'video', 'frame', 'time_offset', 'hardneg_valid'),
                 meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                            'gt_keypoints')),
        ]))

# log every 10 iterations; one checkpoint kept (the study resumes from it)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=40, max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=10)
