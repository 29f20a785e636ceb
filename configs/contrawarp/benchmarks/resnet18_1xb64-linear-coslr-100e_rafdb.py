# Classic linear evaluation on RAF-DB (mmpretrain style), trained with tools/train.py: frozen
# ResNet-18 + one FC layer, the "Linear" protocol of ContraWarping Tabs. 1-5 ("we train one
# fully-connected layer ... based on features from the frozen backbone"; the paper gives no
# optimiser, learning rate or schedule, the SGD recipe below is ours):
#   python tools/train.py configs/contrawarp/benchmarks/resnet18_1xb64-linear-coslr-100e_rafdb.py \
#       --cfg-options load_from=CKPT
#   python tools/test.py configs/contrawarp/benchmarks/resnet18_1xb64-linear-coslr-100e_rafdb.py \
#       work_dirs/resnet18_1xb64-linear-coslr-100e_rafdb/epoch_100.pth
# load_from needs every backbone weight of CKPT (backbone.* keys or a plain backbone state
# dict such as torchvision's), otherwise the run stops with an error; the FC head starts
# random. The faster probe on cached features is resnet18_knn-linear_rafdb.py.
_base_ = ['../../_base_/datasets/rafdb.py', '../../_base_/default_runtime.py']

load_from = None  # the self-supervised checkpoint (backbone.* keys)
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=18,
        out_indices=(3, ),
        frozen_stages=4,  # stem + all 4 stages frozen
        norm_eval=True),  # BN statistics frozen too
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=7,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=0.0))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=100, by_epoch=True, begin=0, end=100)]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2))
