# ContraWarping-BYOL (RW† + LD), ResNet-18, a CPU-sized run on synthetic 64 px faces.
# Not a paper row: a smoke-scale reproduction of the method that runs in minutes on a laptop
# CPU. Data:
#   python tools/misc/make_synthetic_faces.py data/synthetic_faces --format folder \
#       --num 2000 --image-size 64
# Train: python tools/train.py configs/contrawarp/byol_r18_synthetic.py
# Compare with plain BYOL (configs/byol/byol_r18_synthetic.py; k-NN + linear): make demo
_base_ = [
    '../_base_/models/contrawarp_byol_r18.py',
    '../_base_/default_runtime.py',
]

img_size = 64
model = dict(
    base_momentum=0.01,
    backbone=dict(norm_cfg=dict(type='BN')),
    neck=dict(hid_channels=1024, out_channels=128, norm_cfg=dict(type='BN1d')),
    head=dict(
        predictor=dict(
            in_channels=128, hid_channels=1024, out_channels=128,
            norm_cfg=dict(type='BN1d')),
        # The loss scale of the BYOL baseline: mmpretrain's BYOL loss is 2 * (-cos(p1, z2) -
        # cos(p2, z1)) = -4 sim(1, 2), four times ContraWarpLoss's -sim(1, 2). The paper
        # configs use LARS, which normalises the update per layer, so the factor hardly matters
        # there; with this config's plain SGD it would train the shared x1/x2 term at a quarter
        # of BYOL's learning rate. Weighting both contrastive terms by 4 makes loss_cont12
        # exactly BYOL's loss (same optimiser, same step size: configs/byol/byol_r18_synthetic.py
        # is the baseline).
        loss=dict(type='ContraWarpLoss', target_similarity=0.6, loss_weight_12=4.0,
                  loss_weight_13=4.0)),
    # ResNet-18 on 64 px: 2x2 feature map -> 16x16 heatmaps after 3 deconvs (Eq. (5), w²)
    landmark_head=dict(type='LandmarkHeatmapHead', in_channels=512, weight_squared=True),
    # lambda scaled with the heatmap area: Eq. (5) averages over heatmap pixels, and 16x16 maps
    # make it ~12x larger than 56x56 ones, so 100 * 16^2 / 56^2 ~ 8. Not multiplied by 4 with
    # the contrastive terms: lambda = 32 diverges with this SGD lr 0.1 and a short warm-up
    # (make demo --iters 20: loss_lm1 0.6 -> 209 -> NaN within 10 iterations), lambda = 8 does not.
    landmark_loss_weight=8.0,
)

photometric = [
    dict(
        type='RandomApply',
        transforms=[
            dict(type='SafeColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
]
contrawarp_views = dict(
    type='ContraWarpViews',
    view_pipelines=[
        [
            dict(type='FaceResize', scale=img_size),
            dict(type='FaceRandomFlip', prob=0.5),
            *photometric,
        ],
        [
            dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.3, 1.0)),
            dict(type='RandomFlip', prob=0.5),
            *photometric,
        ],
    ],
    # RandomLocalWarp's ranges (§4.3) are for 224 px and scale with the image size
    warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='landmark'),
    moved_weight=1.0,
    unmoved_weight=0.1,
    codec=dict(type='MSRAHeatmap', input_size=(img_size, img_size),
               heatmap_size=(img_size // 4, img_size // 4), sigma=1.5))

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FaceFolderDataset',
        data_root='data/synthetic_faces',
        data_prefix='images',
        landmark_file='landmarks.npz',
        missing_landmarks='drop',
        pipeline=[
            dict(type='LoadFaceImage'), contrawarp_views,
            dict(type='PackContraWarpInputs')
        ]))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={
        'bn': dict(decay_mult=0),
        'bias': dict(decay_mult=0),
    }))
max_iters = 300
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', T_max=max_iters - 20, by_epoch=False, begin=20,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=10)
