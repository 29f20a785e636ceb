# SSL-FER Table 1 row (f): + TimeAug + FaceSwap + HardNeg + MaskFN (L = L1 + 1/2 L2, N_FN = 1).
# VoxCeleb1 frames, ResNet-18, 128 -> 112 crops, Adam 3e-4 / wd 1e-4, batch 256 (4 x 64),
# constant lr for 10 epochs then cosine. Launch: tools/dist_train.sh <this config> 4
_base_ = [
    '../_base_/models/sslfer_r18.py',
    '../_base_/datasets/sslfer_voxceleb.py',
    '_schedule_adam_100e.py',
    '../_base_/default_runtime.py',
]
sync_bn = 'torch'  # SyncBN on GPUs; reverted to BN by tools/train.py on CPU-only runs

# MaskFN describes eye/mouth crops with a frozen ImageNet ResNet-18: put torchvision's
# weights at this path (https://download.pytorch.org/models/resnet18-f37072fd.pth).
# Without them the model REFUSES to build; allow_random_descriptor=True runs with random
# descriptors (a loud warning; MaskFN is then meaningless - for debugging only).
descriptor_checkpoint = 'checkpoints/resnet18-f37072fd.pth'

model = dict(
    use_hardneg=True,
    use_maskfn=True,
    descriptor_checkpoint=descriptor_checkpoint,
    allow_random_descriptor=False)

train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='TimeAug', max_offset=1.0, distribution='linear'),
    dict(type='FaceSwap', prob=0.5),
    dict(type='HardNeg', min_offset=3.0),
    # the anchor keeps its landmarks for the MaskFN crops: the same 128 -> 112 crop + flip
    # as the other views, with the landmark-aware versions of the transforms
    dict(type='ApplyToViews', views=('anchor', ),
         keys=('img', 'img_path', 'img_shape', 'ori_shape', 'gt_keypoints'),
         transforms=[
             dict(type='FaceResize', scale=128),
             dict(type='FaceRandomCrop', crop_size=112),
             dict(type='FaceRandomFlip', prob=0.5),
             dict(type='RandomApply',
                  transforms=[dict(type='SafeColorJitter', brightness=0.4, contrast=0.4,
                                   saturation=0.4, hue=0.1)],
                  prob=0.8),
             dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
                  channel_weights=(0.114, 0.587, 0.2989)),
         ]),
    dict(type='ApplyToViews', transforms={{_base_.view_pipeline}},
         views=('positive', 'hardneg')),
    dict(type='PackMultiViewInputs',
         view_roles=('anchor', 'positive', 'hardneg'),
         data_keys=('identity', 'video', 'frame', 'time_offset', 'hardneg_valid',
                    'face_swapped'),
         meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                    'gt_keypoints')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
