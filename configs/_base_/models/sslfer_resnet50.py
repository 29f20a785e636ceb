# SSL-FER (Shu et al., BMVC 2022) model, §4.1: ResNet-50 encoder, SimCLR's 2-layer MLP projector
# to 128-d, InfoNCE with tau = 0.07 (masked: hard negatives added, MaskFN false negatives
# removed; L = L1 + 1/2 L2, Eq. (2)). HardNeg is switched per config (`use_hardneg`) and MaskFN
# by adding the eye/mouth descriptor as `target_generator`; TimeAug / FaceSwap / CutMix live in
# the data pipeline (configs/_base_/datasets/sslfer_voxceleb.py).
# The projector's hidden size is not given in the paper; 2048 is SimCLR's (mmpretrain).
# BN here; the pre-training configs set `sync_bn = 'torch'` (SyncBN on GPUs; tools/train.py
# reverts it to BN on CPU-only runs).
model = dict(
    type='SSLFER',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(type='ResNet', depth=50, norm_cfg=dict(type='BN'), zero_init_residual=True),
    neck=dict(
        type='NonLinearNeck',  # fc-bn-relu-fc-bn: SimCLR's 2-layer MLP projector
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        num_layers=2,
        with_avg_pool=True,
        norm_cfg=dict(type='BN1d')),
    head=dict(
        type='MaskedInfoNCEHead',
        loss=dict(type='InfoNCELoss', temperature=0.07),
        fn_loss_weight=0.5),
    use_hardneg=False,
    num_false_negatives=1,
    keypoints_key='gt_keypoints',
)

# MaskFN (§3.4): frozen ImageNet ResNet-18 on eye/mouth crops. Configs with MaskFN set
#   model = dict(target_generator=maskfn_descriptor)
# torchvision's weights must be a local file at this path
# (https://download.pytorch.org/models/resnet18-f37072fd.pth); without it the model REFUSES
# to build (allow_random_descriptor=True runs with random descriptors, for debugging only).
maskfn_descriptor = dict(
    type='EyeMouthDescriptor',
    checkpoint='checkpoints/resnet18-f37072fd.pth',
    allow_random_descriptor=False)
