# SSL-FER downstream, AffectNet 8 classes, frozen encoder + 3-layer MLP head with Balanced
# Softmax CE (long-tailed classes); metrics: accuracy and macro-F1 (fer/accuracy, fer/macro_f1).
#   python tools/train.py configs/sslfer/sslfer_r18_mlp-frozen_affectnet8.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=<SSLFER checkpoint>
_base_ = [
    '_downstream_affectnet.py', '_downstream_model_schedule.py',
    '../_base_/default_runtime.py'
]
# Training-set images per class (AffectNet manually annotated training.csv, codes 0-7: Neutral,
# Happy, Sad, Surprise, Fear, Disgust, Anger, Contempt). The AffectNet dataset logs the counts
# of your copy: put them here if they differ.
class_counts = [74874, 134415, 25459, 14090, 6378, 3803, 24882, 3750]
model = dict(
    backbone=dict(frozen_stages=4, norm_eval=True),  # frozen encoder
    head=dict(
        type='MLPClsHead',
        num_classes=8,
        in_channels=512,
        hid_channels=512,
        num_layers=3,
        loss=dict(type='BalancedSoftmaxLoss', class_counts=class_counts)))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
val_evaluator = dict(type='FERClsMetric', num_classes=8)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='fer/macro_f1', rule='greater'))
