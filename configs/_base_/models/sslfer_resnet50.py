# SSL-FER (Shu et al., BMVC 2022) on mmpretrain's SimCLR pieces: ResNet-18 encoder, 2-layer MLP
# projector to 128-d, InfoNCE with tau = 0.07. HardNeg / MaskFN are switched per config
# (configs/sslfer/); TimeAug / FaceSwap live in the data pipeline.
# BN here; the pre-training configs set `sync_bn = 'torch'` (SyncBN on GPUs; tools/train.py
# reverts it to BN on CPU-only runs). ResNet-50: backbone.depth=50, neck.in_channels=2048.
model = dict(
    type='SSLFER',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(type='ResNet', depth=18, norm_cfg=dict(type='BN'), zero_init_residual=True),
    neck=dict(
        type='NonLinearNeck',  # fc-bn-relu-fc-bn: SimCLR's 2-layer MLP projector
        in_channels=512,
        hid_channels=512,
        out_channels=128,
        num_layers=2,
        with_avg_pool=True,
        norm_cfg=dict(type='BN1d')),
    temperature=0.07,
    use_hardneg=False,
    use_maskfn=False,
    num_false_negatives=1,
    fn_loss_weight=0.5,
    # MaskFN only: local copy of torchvision's resnet18 ImageNet weights
    # (https://download.pytorch.org/models/resnet18-f37072fd.pth).
    descriptor_checkpoint=None,
    allow_random_descriptor=False,
    keypoints_key='gt_keypoints',
)
