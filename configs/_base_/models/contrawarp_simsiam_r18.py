# ContraWarping on SimSiam, ResNet-18 backbone (mmpretrain's SimSiam projector/predictor with
# the 512-d ResNet-18 output). LD off here; configs switch it on with `landmark_head=...`.
model = dict(
    type='ContraWarpSimSiam',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=18,
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=True),
    neck=dict(
        type='NonLinearNeck',
        in_channels=512,
        hid_channels=2048,
        out_channels=2048,
        num_layers=3,
        with_last_bn_affine=False,
        with_avg_pool=True,
        norm_cfg=dict(type='SyncBN')),
    head=dict(
        type='LatentPredictHead',
        loss=dict(type='CosineSimilarityLoss'),  # unused by ContraWarpSimSiam
        predictor=dict(
            type='NonLinearNeck',
            in_channels=2048,
            hid_channels=512,
            out_channels=2048,
            with_avg_pool=False,
            with_last_bn=False,
            with_last_bias=True,
            norm_cfg=dict(type='SyncBN'))),
    contrawarp_loss=dict(type='ContraWarpLoss', target_similarity=0.6),
    # LD branch off here; on: dict(type='LandmarkHeatmapHead', in_channels=<C>) (its defaults:
    # 3 x (256 ch, k=4) deconvs + 1x1 conv to 68, KeypointMSELoss(use_target_weight=True))
    # landmark_head=None (default): LD off
    landmark_loss_weight=100.0,
)
