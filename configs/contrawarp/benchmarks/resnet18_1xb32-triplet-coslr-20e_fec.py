# FEC expression embedding fine-tuned with the triplet loss (ContraWarping Tab. 7,
# "Fine-tuning: Yes"; the paper's rows: Random Init 38.37 / 38.38, MS1M 77.52 / 76.99,
# Ours 78.31 / 77.30 for l2 / cos): ResNet-18 + GAP + a linear projection to a 16-d unit
# embedding (FECHead), FECTripletLoss (margin 0.1 one-class / 0.2 two- and three-class
# triplets; ContraWarping gives no fine-tuning settings: the margins and the schedule below
# are ours), from a self-supervised checkpoint:
#   python tools/train.py configs/contrawarp/benchmarks/resnet18_1xb32-triplet-coslr-20e_fec.py \
#       --cfg-options load_from=CKPT
# load_from needs every backbone weight of CKPT (backbone.* keys or a plain backbone state
# dict); validation/test report TripletAccuracy (l2 and cosine) on the embeddings.
_base_ = ['../../_base_/datasets/fec.py', '../../_base_/default_runtime.py']

model = dict(
    type='FECEmbedder',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='FECHead',
        in_channels=512,
        embed_dim=16,
        loss=dict(type='FECTripletLoss',
                  margins=dict(one_class=0.1, two_class=0.2, three_class=0.2))),
)
load_from = None  # the self-supervised checkpoint (all backbone weights required)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=20, by_epoch=True, begin=0, end=20)]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='fec/accuracy_l2', rule='greater'))
