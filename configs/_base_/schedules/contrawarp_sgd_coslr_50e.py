# SimSiam's recipe (§4.3: "for SimSiam, the SGD optimizer with a 0.05 learning rate is adopted
# for a mini-batch of 256"; wd 1e-4, momentum 0.9 and the fixed predictor lr of mmpretrain's
# SimSiam config), cosine over 50 epochs ("50 epochs on 10% MS1M for ablation studies").
lr = 0.05
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=lr, weight_decay=1e-4, momentum=0.9),
    paramwise_cfg=dict(custom_keys={'predictor': dict(fix_lr=True)}))

param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=50, by_epoch=True, begin=0, end=50,
         convert_to_iter_based=True)
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50)
# adjust_by_epoch=False: re-fix the predictor lr every iteration (the cosine is iter-based)
custom_hooks = [
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=lr, adjust_by_epoch=False)
]
auto_scale_lr = dict(base_batch_size=256)
