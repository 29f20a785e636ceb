# Synthetic faces of the SSL study (`make demo`, `tools/misc/ssl_benchmark.py`; not a paper
# setting). Everything at 48 px: a narrow ResNet-18 still learns expression there when
# supervised (32 px does not: ~23 % vs ~68 % on unseen people after 10 epochs), and it is the
# largest size that fits the CPU preset's budget. Written by the study (mmfer.apis.ssl_study)
# under data_root:
#   pretrain/  unlabeled stills of the pre-training people (FaceFolderDataset: images/ +
#              landmarks.npz + meta.csv), generator seed 0;
#   videos/    talking-face clips of the same people (VoxCeleb layout, 25 fps) for SSL-FER;
#   rafdb/     labelled faces of *other* people (generator seed 1000) in RAF-DB's layout: the
#              train split (k-NN bank, probe training set, supervised bound) and the test split
#              never share a person.
img_size = 48
data_root = 'data/ssl_study/cpu/'

# The shared augmentations. x1: the face itself (landmark-aware flip; ContraWarping warps it
# into x3); x2: a random crop. Colour jitter and grayscale as in the ContraWarping synthetic
# runs (MoCo v2's strengths, saturation 0.2). Every method uses exactly these views.
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
view_x1 = [
    dict(type='FaceResize', scale=img_size),
    dict(type='FaceRandomFlip', prob=0.5),
    *photometric,
]
view_x2 = [
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.3, 1.0)),
    dict(type='RandomFlip', prob=0.5),
    *photometric,
]
# the two-view methods (BYOL, SimSiam): x1 and x2 only, no warp, no heatmaps
two_view_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='MultiView', num_views=[1, 1], transforms=[view_x1, view_x2]),
    dict(type='PackInputs'),
]

pretrain_dataset = dict(
    type='FaceFolderDataset',
    data_root=data_root + 'pretrain',
    data_prefix='images',
    landmark_file='landmarks.npz',
    pipeline=two_view_pipeline)
train_dataloader = dict(
    batch_size=64,
    num_workers=1,
    persistent_workers=True,
    drop_last=True,
    # iteration-based training: an endless sampler, no "end of the dataloader" restarts
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=pretrain_dataset)

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# The labelled evaluation faces (test pipeline, no augmentation): the frozen-feature benchmark
# (configs/ssl_study/benchmarks/) and the online FeatureMonitorHook read these.
eval_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]
eval_bank = dict(type='RAFDB', data_root=data_root + 'rafdb', split='train',
                 pipeline=eval_pipeline, test_mode=True)
eval_query = dict(type='RAFDB', data_root=data_root + 'rafdb', split='test',
                  pipeline=eval_pipeline, test_mode=True)
