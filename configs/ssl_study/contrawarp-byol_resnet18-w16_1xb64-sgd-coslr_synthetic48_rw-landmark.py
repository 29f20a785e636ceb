# ContraWarping-BYOL with warps centred near landmarks (RW†, no landmark branch), the narrow
# ResNet-18 of the SSL study on 48 px synthetic faces (not a paper row).
_base_ = ['./contrawarp-byol_resnet18-w16_1xb64-sgd-coslr_synthetic48_rw-random.py']

train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadFaceImage'),
    dict(type='ContraWarpViews',
         view_pipelines=[{{_base_.view_x1}}, {{_base_.view_x2}}],
         warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='landmark'),
         moved_weight=1.0,
         unmoved_weight=0.1),
    dict(type='PackContraWarpInputs'),
]))
