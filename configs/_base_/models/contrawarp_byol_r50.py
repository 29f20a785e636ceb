# ContraWarping on BYOL, ResNet-50 backbone (mmpretrain's BYOL projector/predictor sizes).
# The landmark branch (LD) is off here; configs switch it on with `landmark_head=...`.
model = dict(
    type='ContraWarpBYOL',
    base_momentum=0.01,  # CosineEMA: target decay tau = 1 - 0.01 -> 1
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),
    neck=dict(
        type='NonLinearNeck',
        in_channels=2048,
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
        # BYOL's own loss, unused by ContraWarpBYOL (kept: LatentPredictHead requires one)
        loss=dict(type='CosineSimilarityLoss')),
    contrawarp_loss=dict(type='ContraWarpLoss', target_similarity=0.6),
    # LD branch off here; on: dict(type='LandmarkHeatmapHead', in_channels=<C>) (its defaults:
    # 3 x (256 ch, k=4) deconvs + 1x1 conv to 68, KeypointMSELoss(use_target_weight=True))
    # landmark_head=None (default): LD off
    landmark_loss_weight=100.0,
)
