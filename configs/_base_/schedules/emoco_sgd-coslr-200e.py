# EmoCo pre-training schedule (§IV.B.2, §IV.B.4): SGD, lr = 0.03 x batch / 256, momentum 0.9,
# weight decay 1e-4, cosine decay, batch 256, 200 epochs.
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.03, weight_decay=1e-4, momentum=0.9))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=200, by_epoch=True, begin=0, end=200,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
auto_scale_lr = dict(base_batch_size=256)  # lr 0.03 x batch / 256 with --auto-scale-lr
