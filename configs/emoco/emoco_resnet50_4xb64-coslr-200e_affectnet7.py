# EmoCo pre-training (Sun, Zeng, Shan, FG 2021) on AffectNet's 7 basic expressions: MoCo v2
# with a per-class multi-queue (K = 65536 keys per class), emotion classifier (CE, lambda = 1)
# and intra-class normalisation; InfoNCE tau = 0.2.
# SGD lr 0.03 x batch / 256 (momentum 0.9, wd 1e-4), cosine, 200 epochs, batch 256 = 8 GPUs x
# 32, SyncBN on GPU (`sync_bn = 'torch'`; tools/train.py reverts it to BN on CPU-only runs).
#   tools/dist_train.sh configs/emoco/emoco_r50_8xb32-coslr-200e_affectnet7.py 8
# Memory: the multi-queue holds 7 x 65536 x 128 floats (235 MB); see the _k4096 config for a
# small dictionary.
_base_ = [
    '../_base_/models/emoco_r50.py',
    '../_base_/default_runtime.py',
]
sync_bn = 'torch'

data_root = 'data/affectnet/'
view_pipeline = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.), backend='pillow'),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='SafeColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5),
    dict(type='RandomFlip', prob=0.5),
]
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='CropFaceBox'),  # AffectNet images are full pictures: crop the face box
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),  # gt_label: the emotion, used by C and the multi-queue
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='AffectNet',
        data_root=data_root,
        split='train',
        num_classes=7,
        crop_face=True,
        pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.03, weight_decay=1e-4, momentum=0.9))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=200, by_epoch=True, begin=0, end=200,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
auto_scale_lr = dict(base_batch_size=256)  # lr 0.03 x batch / 256 with --auto-scale-lr
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
