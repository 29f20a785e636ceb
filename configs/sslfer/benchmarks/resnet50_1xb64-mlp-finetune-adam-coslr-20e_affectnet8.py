# SSL-FER downstream, Table 1 "Finetune-AffectNet EXPR": fine-tuned pre-trained ResNet-50 +
# 3-layer MLP head, AffectNet 8 classes with the Balanced Softmax CE (§4.3); macro-F1 and
# accuracy (fer/macro_f1, fer/accuracy). Adam 1e-4 cosine, wd 5e-4, batch 64, 20 epochs (§4.1).
#   python tools/train.py <this config> \
#       --cfg-options model.backbone.init_cfg.checkpoint=<SSLFER checkpoint>
_base_ = [
    '../../_base_/datasets/sslfer_affectnet.py',
    '../../_base_/models/sslfer_resnet50_mlp.py',
    '../../_base_/schedules/sslfer_downstream_adam-coslr-20e.py',
    '../../_base_/default_runtime.py',
]
model = dict(
    head=dict(
        type='MLPClsHead',
        num_classes=8,
        in_channels=2048,
        hid_channels=512,
        num_layers=3,
        loss=dict(type='BalancedSoftmaxLoss', class_counts={{_base_.class_counts}})))
val_evaluator = dict(type='FERClsMetric', num_classes=8)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='fer/macro_f1', rule='greater'))
