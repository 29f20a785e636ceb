# MoCo v2 (mmpretrain `MoCo` + `MoCoV2Neck` as in its MoCo v2 config), ResNet-18 backbone; the
# base of contrawarp_mocov2_r18.py.
model = dict(
    type='MoCo',
    queue_len=65536,
    feat_dim=128,
    momentum=0.001,  # EMA weight of the online encoder: key-encoder decay 0.999
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=18,
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(
        type='MoCoV2Neck',
        in_channels=512,
        hid_channels=2048,
        out_channels=128,
        with_avg_pool=True),
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2),
)
# log the key encoder's decay tau as `momentum`
custom_hooks = [dict(type='EMAMomentumLoggerHook')]
