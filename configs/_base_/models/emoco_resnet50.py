# EmoCo (Sun, Zeng, Shan, FG 2021) on mmpretrain's MoCo v2 pieces: ResNet-50, 2-layer MLP
# 2048 -> 128 (L2-normalised), emotion classifier C = one bias-free FC on q (CE, lambda = 1),
# momentum encoder m = 0.999 (mmengine momentum=0.001), one queue of K keys per emotion class
# (negatives from the query's own class), intra-class normalisation, InfoNCE tau = 0.2.
# Table IV switches: use_multi_queue (MQ), use_cont_loss (L_cont), use_emo_loss (L_emo),
# use_intra_norm (N). BN here; configs set `sync_bn = 'torch'` (SyncBN on GPU).
model = dict(
    type='EmoCo',
    num_classes=7,
    queue_len=65536,  # K per class
    feat_dim=128,
    momentum=0.001,
    use_multi_queue=True,
    use_cont_loss=True,
    use_emo_loss=True,
    use_intra_norm=True,
    emo_loss_weight=1.0,
    classifier_bias=False,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(type='ResNet', depth=50, norm_cfg=dict(type='BN'), zero_init_residual=False),
    neck=dict(
        type='MoCoV2Neck', in_channels=2048, hid_channels=2048, out_channels=128,
        with_avg_pool=True),
    head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), temperature=0.2),
)
