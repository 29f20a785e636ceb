# MoCo v2's recipe (mmpretrain mocov2 config): SGD, lr 0.03 for a total batch of 256, cosine;
# 20 epochs: §4.3 gives no MoCo v2 schedule, we use SimSiam's 20 epochs for the comparison
# with the state of the art (Tab. 4), the other batch-256 SGD method.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.03, weight_decay=1e-4, momentum=0.9))

param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=20, by_epoch=True, begin=0, end=20,
         convert_to_iter_based=True)
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20)
auto_scale_lr = dict(base_batch_size=256)
