# SimSiam (mmpretrain's SimSiam), the narrow ResNet-18 of the SSL study on 48 px synthetic faces
# (not a paper row): the views, optimiser, schedule and data of the BYOL row
# (byol_resnet18-w16_1xb64-sgd-coslr_synthetic48.py), SimSiam's projector/predictor narrowed.
_base_ = [
    '../_base_/models/simsiam_r18.py',
    '../_base_/datasets/ssl_study_synthetic48.py',
    '../_base_/schedules/ssl_study_sgd-coslr.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(base_channels=16, stem_channels=16, norm_cfg=dict(type='BN')),
    neck=dict(in_channels=128, hid_channels=512, out_channels=512,
              norm_cfg=dict(type='BN1d')),
    head=dict(
        predictor=dict(in_channels=512, hid_channels=128, out_channels=512,
                       norm_cfg=dict(type='BN1d'))))

# log every 10 iterations; one checkpoint kept (the study resumes from it)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=40, max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=10)
