# SSL-FER Table 1, "SimCLR [8]" row (the baseline the strategies are added to): the positive is
# the anchor frame itself (Δ = 0), both views augmented independently with the same view
# pipeline as every row (landmark masking and blur included).
# VoxCeleb1 frames, ResNet-50, 128 -> 112 crops, Adam 3e-4 / wd 1e-4, batch 256 (4 GPUs x 64;
# the paper gives the batch, not the GPU count), cosine from epoch 10, 210 epochs.
# Launch: tools/dist_train.sh <this config> 4
_base_ = [
    '../_base_/models/sslfer_resnet50.py',
    '../_base_/datasets/sslfer_voxceleb.py',
    '../_base_/schedules/sslfer_adam-coslr-210e.py',
    '../_base_/default_runtime.py',
]
sync_bn = 'torch'  # SyncBN on GPUs; reverted to BN by tools/train.py on CPU-only runs
# checkpoints every 5 epochs once the instance-discrimination top-1 reaches 60 % (§4.1)
default_hooks = dict(checkpoint=dict(
    _delete_=True, type='InstDiscCheckpointHook', interval=5, min_accuracy=60.0))

model = dict(use_hardneg=False)

train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='TimeAug', max_offset=1e-6, allow_same=True),  # Δ = 0: the anchor frame
    dict(type='ApplyToViews', transforms={{_base_.view_pipeline}}, views=('anchor', 'positive')),
    dict(type='PackMultiViewInputs', view_roles=('anchor', 'positive'),
         data_keys=('identity', 'video', 'frame'),
         meta_keys={{_base_.pack_meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
