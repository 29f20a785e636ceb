# SSL-FER downstream, Table 1 "Finetune-FER2013 EXPR": fine-tuned pre-trained ResNet-50 +
# 3-layer MLP head, FER2013 7 classes with the Balanced Softmax CE (§4.3: adopted for emotion
# classification); accuracy (fer/accuracy) on PrivateTest with the checkpoint that is best on
# PublicTest (§4.2). Adam 1e-4 cosine, wd 5e-4, batch 64, 300 epochs (§4.1).
#   python tools/train.py <this config> \
#       --cfg-options model.backbone.init_cfg.checkpoint=<SSLFER checkpoint>
#   python tools/test.py <this config> work_dirs/<run>/best_fer_accuracy_epoch_<N>.pth
_base_ = [
    '../../_base_/datasets/sslfer_fer2013.py',
    '../../_base_/models/sslfer_resnet50_mlp.py',
    '../../_base_/schedules/sslfer_downstream_adam-coslr-300e.py',
    '../../_base_/default_runtime.py',
]
model = dict(
    head=dict(
        type='MLPClsHead',
        num_classes=7,
        in_channels=2048,
        hid_channels=512,
        num_layers=3,
        loss=dict(type='BalancedSoftmaxLoss', class_counts={{_base_.class_counts}})))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='fer/accuracy', rule='greater'))
