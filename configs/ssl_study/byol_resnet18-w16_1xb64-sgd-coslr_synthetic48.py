# BYOL (mmpretrain's BYOL), a narrow ResNet-18 (16 base channels, 128-d features) on 48 px
# synthetic faces: the BYOL row of the SSL study (`make demo`, tools/misc/ssl_benchmark.py;
# not a paper row). Two views (x1 = the face, x2 = a random crop; shared colour jitter and
# grayscale), no warp, no landmark heatmaps. The study's presets set the data root, the
# iterations and the seed; this file holds the CPU preset's values. Alone:
#   python tools/train.py configs/ssl_study/byol_resnet18-w16_1xb64-sgd-coslr_synthetic48.py
# (after `make demo` has written the synthetic faces under data/ssl_study/cpu/).
_base_ = [
    '../_base_/models/byol_r18.py',
    '../_base_/datasets/ssl_study_synthetic48.py',
    '../_base_/schedules/ssl_study_sgd-coslr.py',
    '../_base_/default_runtime.py',
]

# the narrow network: every width of mmpretrain's BYOL ResNet-18 divided by 4 or 8
model = dict(
    # CosineEMA target decay tau = 1 - base_momentum -> 1. mmpretrain's 0.01 (tau = 0.99) is for
    # hundreds of epochs; in a run of ~100 iterations the target then hardly leaves its random
    # initialisation. Calibrated on this row (0.01, 0.1, 0.3, 0.5 tried): 0.3
    base_momentum=0.3,
    backbone=dict(base_channels=16, stem_channels=16, norm_cfg=dict(type='BN')),
    neck=dict(in_channels=128, hid_channels=512, out_channels=128,
              norm_cfg=dict(type='BN1d')),
    head=dict(
        predictor=dict(in_channels=128, hid_channels=512, out_channels=128,
                       norm_cfg=dict(type='BN1d'))))

# log every 10 iterations; one checkpoint kept (the study resumes from it)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=40, max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=10)
