# SSL-FER downstream, AffectNet valence/arousal: finetune encoder + 3-layer MLP regressor
# (tanh outputs) trained with the CCC loss; metrics: CCC and RMSE (va/ccc/*, va/rmse/*).
_base_ = [
    '_downstream_affectnet.py', '_downstream_model_schedule.py',
    '../_base_/default_runtime.py'
]
model = dict(
    head=dict(
        type='MLPVAHead',
        in_channels=512,
        hid_channels=512,
        num_layers=3,
        loss=dict(type='CCCLoss')))
val_evaluator = dict(type='VAMetric')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='va/ccc/mean', rule='greater'))
