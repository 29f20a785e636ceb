# SSL-FER downstream schedule (§4.1), the same for every pre-trained model and for the frozen and
# fine-tuned protocols: Adam, lr 1e-4 with cosine annealing, weight decay 5e-4, batch 64.
# Length: "over 20 iterations for AffectNet dataset and 300 iterations for FER2013 dataset".
# We read "iterations" as epochs (passes over the training set): 20 optimiser steps of 64
# images would see 1,280 of the 287,651 AffectNet training images (0.4 %); see
# configs/sslfer/README.md. This file: 300 epochs.
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=300, by_epoch=True, begin=0, end=300,
         convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
