# FEC expression embedding fine-tuned with the triplet loss (ContraWarping Tab. 7,
# "fine-tuning: Yes"): ResNet-18 + GAP + FC to a 16-d unit embedding, FECTripletLoss
# (margin 0.1 one-class / 0.2 two- and three-class triplets), from an SSL checkpoint:
#   python tools/train.py configs/benchmarks/fec_finetune_r18.py --cfg-options load_from=CKPT
# Validation/test report TripletAccuracy (l2 and cosine) on the embeddings.
_base_ = ['../_base_/datasets/fec.py', '../_base_/default_runtime.py']

model = dict(
    type='FECEmbedder',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    in_channels=512,
    embed_dim=16,
    loss=dict(type='FECTripletLoss',
              margins=dict(one_class=0.1, two_class=0.2, three_class=0.2)),
)
load_from = None  # the self-supervised checkpoint (backbone.* keys)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=20, by_epoch=True, begin=0, end=20)]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='fec/accuracy_l2', rule='greater'))
