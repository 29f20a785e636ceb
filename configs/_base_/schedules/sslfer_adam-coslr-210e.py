# SSL-FER schedule: Adam lr 3e-4, weight decay 1e-4, total batch 256 (4 GPUs x 64);
# constant lr for the first 10 epochs, then cosine decay (as the authors' trainer: the
# scheduler only steps from epoch 10 on).
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=3e-4, weight_decay=1e-4))
param_scheduler = [
    dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=10),
    dict(type='CosineAnnealingLR', T_max=90, by_epoch=True, begin=10, end=100,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)
auto_scale_lr = dict(base_batch_size=256)
