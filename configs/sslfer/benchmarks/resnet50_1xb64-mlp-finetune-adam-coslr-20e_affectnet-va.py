# SSL-FER downstream, Table 1 "Finetune-AffectNet Valence / Arousal": fine-tuned pre-trained
# ResNet-50 + 3-layer MLP regressor (tanh outputs) trained with the CCC loss (§4.3); metrics CCC
# and RMSE (va/ccc/*, va/rmse/*). Adam 1e-4 cosine, wd 5e-4, batch 64, 20 epochs (§4.1).
_base_ = [
    '../../_base_/datasets/sslfer_affectnet.py',
    '../../_base_/models/sslfer_resnet50_mlp.py',
    '../../_base_/schedules/sslfer_downstream_adam-coslr-20e.py',
    '../../_base_/default_runtime.py',
]
model = dict(
    head=dict(
        type='MLPVAHead',
        in_channels=2048,
        hid_channels=512,
        num_layers=3,
        loss=dict(type='CCCLoss')))
val_evaluator = dict(type='VAMetric')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='va/ccc/mean', rule='greater'))
