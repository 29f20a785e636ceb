# Copyright (c) mmfer contributors. All rights reserved.
# ContraWarping views (x1, x2, x3 = RW(x1)) at 224 px with BYOL-style augmentations.
# x1: no random crop; its geometric ops move the landmarks (FaceResize, FaceRandomFlip).
# x2: RandomResizedCrop + the same photometric augmentations (BYOL's second view).
# Images come from LoadFaceImage + the dataset's gt_keypoints (K, 2). For datasets that
# decode images themselves (FaceFolderDataset), use `decoded_train_pipeline`.
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

photometric = [
    dict(
        type='RandomApply',
        transforms=[
            dict(type='SafeColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=1.0),
]
view_pipeline_x1 = [
    dict(type='FaceResize', scale=224),
    dict(type='FaceRandomFlip', prob=0.5),
    *photometric,
]
view_pipeline_x2 = [
    dict(type='RandomResizedCrop', scale=224, interpolation='bicubic', backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    *photometric[:2],
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
]
contrawarp_views = dict(
    type='ContraWarpViews',
    view_pipelines=[view_pipeline_x1, view_pipeline_x2],
    # RW*: random centres (works without landmarks); center_mode='landmark' for RW†.
    warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='random'),
    moved_weight=1.0,
    unmoved_weight=0.1,
    codec=dict(type='MSRAHeatmap', input_size=(224, 224), heatmap_size=(56, 56), sigma=1.5))

train_pipeline = [
    dict(type='LoadFaceImage'),
    contrawarp_views,
    dict(type='PackContraWarpInputs'),
]
decoded_train_pipeline = [contrawarp_views, dict(type='PackContraWarpInputs')]
