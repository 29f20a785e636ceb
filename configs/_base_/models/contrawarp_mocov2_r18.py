# ContraWarping on MoCo v2 (mmpretrain `MoCo` + `MoCoV2Neck`), ResNet-18 backbone, with the
# landmark-detection branch (LD): the warped view's key is appended to the negatives (§4.5:
# "We simply append our x3 feature to the dictionary as full negative examples").
model = dict(
    type='ContraWarpMoCoV2',
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
    # LD (§3.3, Eq. (5) with squared weights); see contrawarp_byol_r18.py for the choices
    landmark_head=dict(type='LandmarkHeatmapHead', in_channels=512, weight_squared=True),
    landmark_loss_weight=100.0,
)
# log the key encoder's decay tau as `momentum`
custom_hooks = [dict(type='EMAMomentumLoggerHook')]
