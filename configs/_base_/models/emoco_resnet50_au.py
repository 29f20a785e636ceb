# EmoCo downstream AU model (§IV.C): the pre-trained ResNet-50 encoder (backbone.* of an EmoCo
# checkpoint) + GAP + one linear layer per AU with sigmoid BCE that ignores unknown labels
# (MaskedMultiLabelLinearClsHead); per-AU F1 and their mean (au/f1/*). Fine-tune protocol by
# default; the linear protocol freezes the encoder (frozen_stages=4, norm_eval=True).
# Checkpoint: --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<emoco run>/epoch_200.pth
pretrained = 'work_dirs/emoco_resnet50_4xb64-coslr-200e_affectnet7/epoch_200.pth'
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
