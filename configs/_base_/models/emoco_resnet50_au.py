# AU finetune protocol (EmoCo Tables I-III): ResNet-50 encoder from an EmoCo checkpoint
# (fine-tuned end to end) + GAP + one linear layer per AU with sigmoid BCE that ignores
# unknown labels (MaskedMultiLabelLinearClsHead); per-AU F1 + mean.
# Checkpoint: --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<emoco run>/epoch_200.pth
pretrained = 'work_dirs/emoco_r50_8xb32-coslr-200e_affectnet7/epoch_200.pth'
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(3, ),
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MaskedMultiLabelLinearClsHead',
        num_classes=12,  # set per dataset (len(au_names))
        in_channels=2048,
        mask_key='au_mask',
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        thr=0.5))
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
