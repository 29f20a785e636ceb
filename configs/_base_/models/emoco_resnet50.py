# EmoCo (Sun, Zeng, Shan, FG 2021) model, §III and §IV.B.3-4: ResNet-50 + GAP, 2-layer MLP
# projector 2048 -> 2048 -> 128 (ReLU, L2-normalised output q), momentum encoder m = 0.999
# (mmengine momentum = 1 - m = 0.001), one queue of K = 65536 keys per emotion class (negatives
# from the query's own class), intra-class normalisation N, InfoNCE tau = 0.2 (`head`, L_cont),
# emotion classifier C = one bias-free FC on q with cross-entropy, lambda = 1 (`emo_head`,
# L_emo). Table IV switches: use_multi_queue (MQ), use_intra_norm (N), head=None (no L_cont),
# emo_head=None (no L_emo). BN here; the configs set `sync_bn = 'torch'` (SyncBN on GPU,
# §IV.B.2).
model = dict(
    type='EmoCo',
    num_classes=7,
    queue_len=65536,  # K per class
    feat_dim=128,
    momentum=0.001,
    use_multi_queue=True,
    use_intra_norm=True,
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
    emo_head=dict(
        type='EmotionClsHead', num_classes=7, in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),  # loss_weight = lambda
)
