# BYOL (mmpretrain's BYOL: projector, predictor and CosineEMA target network of its config),
# ResNet-18 backbone; the base of contrawarp_byol_r18.py.
model = dict(
    type='BYOL',
    base_momentum=0.01,  # CosineEMA: target decay tau = 1 - 0.01 -> 1 (mmpretrain's BYOL config)
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=18,
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),
    neck=dict(
        type='NonLinearNeck',
        in_channels=512,
        hid_channels=4096,
        out_channels=256,
        num_layers=2,
        with_bias=True,
        with_last_bn=False,
        with_avg_pool=True,
        norm_cfg=dict(type='SyncBN')),
    head=dict(
        type='LatentPredictHead',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=256,
            hid_channels=4096,
            out_channels=256,
            num_layers=2,
            with_bias=True,
            with_last_bn=False,
            with_avg_pool=False,
            norm_cfg=dict(type='SyncBN')),
        loss=dict(type='CosineSimilarityLoss')),
)
# log the target network's decay tau as `momentum`
custom_hooks = [dict(type='EMAMomentumLoggerHook')]
