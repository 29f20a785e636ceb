# ContraWarping on SimSiam, ResNet-18 backbone (mmpretrain's SimSiam projector/predictor with
# the 512-d ResNet-18 output), with the landmark-detection branch (LD).
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
        type='ContraWarpHead',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=2048,
            hid_channels=512,
            out_channels=2048,
            with_avg_pool=False,
            with_last_bn=False,
            with_last_bias=True,
            norm_cfg=dict(type='SyncBN')),
        # Eqs. (2)-(4); s_t = 0.6, the best value of Tab. 2
        loss=dict(type='ContraWarpLoss', target_similarity=0.6)),
    # LD (§3.3, Eq. (5) with squared weights); see contrawarp_byol_r18.py for the choices
    landmark_head=dict(type='LandmarkHeatmapHead', in_channels=512, weight_squared=True),
    landmark_loss_weight=100.0,
)
