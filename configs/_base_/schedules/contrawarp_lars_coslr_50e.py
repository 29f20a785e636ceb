# LARS, lr 4.8 for a total batch of 4096 (BYOL's recipe; mmpretrain `imagenet_lars_coslr_200e`
# shortened to 50 epochs): 5 warm-up epochs, then cosine to 0.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=4.8, momentum=0.9, weight_decay=1e-6),
    paramwise_cfg=dict(
        custom_keys={
            'bn': dict(decay_mult=0, lars_exclude=True),
            'bias': dict(decay_mult=0, lars_exclude=True),
            # bn layer in ResNet block downsample module
            'downsample.1': dict(decay_mult=0, lars_exclude=True),
        }))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=45, by_epoch=True, begin=5, end=50,
         convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50)
# lr 4.8 is for 4096 images per step; `tools/train.py --auto-scale-lr` rescales it linearly.
auto_scale_lr = dict(base_batch_size=4096)
