# EmoCo downstream AU schedule. The paper gives no optimiser settings for the linear and
# fine-tuning protocols (it notes that fine-tuning "converges in less than 5 epochs", §IV.D):
# SGD momentum 0.9, wd 1e-4, cosine, 20 epochs, batch 64; lr 0.001 (fine-tune) here, the linear
# configs use 0.01. Our choice, not the paper's.
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=20, by_epoch=True, begin=0, end=20,
         convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
