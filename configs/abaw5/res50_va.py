# ABAW5 valence-arousal regressor: the res50.py backbone/neck, a linear (tanh) head trained
# with the CCC loss (1 - CCC of valence and arousal); metric: CCC (key va/ccc/mean).
_base_ = [
    './_base_/abaw5_res50.py',
    '../_base_/datasets/affwild2_va.py',
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
