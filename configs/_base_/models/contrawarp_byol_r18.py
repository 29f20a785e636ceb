# ContraWarping on BYOL (mmpretrain's BYOL projector/predictor sizes), ResNet-18 backbone, with
# the landmark-detection branch (LD). ResNet-50: backbone depth 50, neck and landmark head
# in_channels 2048 (see contrawarp-byol_resnet50_*.py).
model = dict(
    type='ContraWarpBYOL',
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
        type='ContraWarpHead',
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
        # Eqs. (2)-(4); s_t = 0.6, the best value of Tab. 2
        loss=dict(type='ContraWarpLoss', target_similarity=0.6)),
    # §3.3: "several deconvolutional layers" (the paper gives no depth or width; mmpose's
    # SimpleBaseline head: 3 x (256 ch, k=4) deconvs + 1x1 conv -> 68 heatmaps, 7x7 -> 56x56);
    # Eq. (5) with its squared weights (weight_squared=True)
    landmark_head=dict(type='LandmarkHeatmapHead', in_channels=512, weight_squared=True),
    # lambda of Eq. (6): the paper gives no value; 100 brings lambda (L_lm1 + L_lm3) to the
    # order of the contrastive terms at initialisation (not tuned)
    landmark_loss_weight=100.0,
)
# log the target network's decay tau as `momentum`
custom_hooks = [dict(type='EMAMomentumLoggerHook')]
