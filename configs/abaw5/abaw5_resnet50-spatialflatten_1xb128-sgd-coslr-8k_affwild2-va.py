# Aff-Wild2 valence-arousal track with the ABAW5 frame model: an mmfer extension (the ABAW5
# paper of Xue, Sun, Yang 2023 only reports the expression track). The expression config's
# backbone/neck/schedule, a linear (tanh) head trained with the CCC loss (1 - CCC of valence
# and arousal); metric: CCC (key va/ccc/mean).
# Batch 128 per GPU (1 GPU); on 8 GPUs: --cfg-options train_dataloader.batch_size=16.
_base_ = [
    '../_base_/models/abaw5_resnet50_spatialflatten.py',
    '../_base_/datasets/affwild2_va.py',
    '../_base_/schedules/abaw5_sgd_coslr_8k.py',
    '../_base_/default_runtime.py',
]

model = dict(
    head=dict(
        _delete_=True,
        type='VARegressionHead',
        in_channels={{_base_.flat_dim}},
        num_outputs=2,
        loss=dict(type='CCCLoss', loss_weight=1.0),
        activation='tanh',
    ))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=3,
                    save_best='va/ccc/mean', rule='greater'),
)
log_processor = dict(by_epoch=False)
