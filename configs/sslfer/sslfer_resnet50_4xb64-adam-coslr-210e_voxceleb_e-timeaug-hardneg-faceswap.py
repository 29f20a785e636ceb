# SSL-FER Table 1 row (e): + TimeAug + FaceSwap + HardNeg.
# VoxCeleb1 frames, ResNet-18, 128 -> 112 crops, Adam 3e-4 / wd 1e-4, batch 256 (4 x 64),
# constant lr for 10 epochs then cosine. Launch: tools/dist_train.sh <this config> 4
_base_ = [
    '../_base_/models/sslfer_r18.py',
    '../_base_/datasets/sslfer_voxceleb.py',
    '_schedule_adam_100e.py',
    '../_base_/default_runtime.py',
]
sync_bn = 'torch'  # SyncBN on GPUs; reverted to BN by tools/train.py on CPU-only runs

model = dict(use_hardneg=True)

train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='TimeAug', max_offset=1.0, distribution='linear'),
    dict(type='FaceSwap', prob=0.5),
    dict(type='HardNeg', min_offset=3.0),
    dict(type='ApplyToViews', transforms={{_base_.view_pipeline}},
         views=('anchor', 'positive', 'hardneg')),
    dict(type='PackMultiViewInputs',
         view_roles=('anchor', 'positive', 'hardneg'),
         data_keys=('identity', 'video', 'frame', 'time_offset', 'hardneg_valid', 'face_swapped')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
