# BYOL's recipe (§4.3: "For BYOL, a big batch size (4096) with the LARS optimizer is adopted,
# and the learning rate is set to 4.8 ... we pre-trained it for 50 epochs on 100% MS1M"). The
# paper gives no warm-up or weight decay: mmpretrain's `imagenet_lars_coslr_200e` (wd 1e-6,
# bn/bias excluded) with 5 warm-up epochs, then cosine to 0.
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
# lr 4.8 is for 4096 images per step; `tools/train.py --auto-scale-lr` rescales it linearly to
# the actual total batch (e.g. 8 GPUs x 64: lr 0.6).
auto_scale_lr = dict(base_batch_size=4096)
