# ContraWarping on MoCo v2 (mmpretrain `MoCo` + `MoCoV2Neck`), ResNet-18 backbone: the warped
# view's key is appended to the negatives. LD off here; configs switch it on.
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
    # LD branch off here; on: dict(type='LandmarkHeatmapHead', in_channels=<C>) (its defaults:
    # 3 x (256 ch, k=4) deconvs + 1x1 conv to 68, KeypointMSELoss(use_target_weight=True))
    # landmark_head=None (default): LD off
    landmark_loss_weight=100.0,
)
