# Optimiser and schedule of every pre-training run of the SSL study (CPU preset values; the
# study's presets change max_iters and the warm-up with it). One setting for all methods,
# calibrated on BYOL only (scored on validation people of the bank, never the test split;
# README "The demo" lists every setting tried): plain SGD, lr 0.1, momentum 0.9, weight decay
# 1e-5, batch 64, linear warm-up then cosine decay to 0, iteration-based.
max_iters = 80
warmup_iters = 8
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-5),
    paramwise_cfg=dict(custom_keys={
        'bn': dict(decay_mult=0),
        'bias': dict(decay_mult=0),
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters, by_epoch=False,
         begin=warmup_iters, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
