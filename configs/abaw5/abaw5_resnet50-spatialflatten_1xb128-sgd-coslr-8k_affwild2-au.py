# Aff-Wild2 action-unit track with the ABAW5 frame model: an mmfer extension (the ABAW5 paper
# of Xue, Sun, Yang 2023 only reports the expression track). The expression config's
# backbone/neck/schedule, a 12-way multi-label linear head with sigmoid BCE that ignores
# unannotated AUs (au_mask); metric: mean F1 (au/f1/mean).
# Batch 128 per GPU (1 GPU); on 8 GPUs: --cfg-options train_dataloader.batch_size=16.
_base_ = [
    '../_base_/models/abaw5_resnet50_spatialflatten.py',
    '../_base_/datasets/affwild2_au.py',
    '../_base_/schedules/abaw5_sgd_coslr_8k.py',
    '../_base_/default_runtime.py',
]

model = dict(
    head=dict(
        _delete_=True,
        type='MaskedMultiLabelLinearClsHead',
        num_classes=12,
        in_channels={{_base_.flat_dim}},
        mask_key='au_mask',
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        thr=0.5,
    ))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=3,
                    save_best='au/f1/mean', rule='greater'),
)
log_processor = dict(by_epoch=False)
