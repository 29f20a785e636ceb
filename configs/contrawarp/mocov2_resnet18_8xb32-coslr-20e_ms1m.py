# Plain MoCo v2 (mmpretrain's MoCo + MoCoV2Neck), ResNet-18, pre-trained on 100% MS1M: the
# baseline of contrawarp-mocov2_resnet18_8xb32-coslr-20e_ms1m.py (same data, networks and
# schedule; MoCo v2's own two views, no warping, no landmark branch).
# Paper row: Tab. 4 "MoCo V2": RAF-DB linear 57.82, k-NN (k = 10 / 30) 44.10 / 46.48.
_base_ = ['./contrawarp-mocov2_resnet18_8xb32-coslr-20e_ms1m.py']

model = dict(
    _delete_=True,
    type='MoCo',
    queue_len={{_base_.model.queue_len}},
    feat_dim={{_base_.model.feat_dim}},
    momentum={{_base_.model.momentum}},
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    head={{_base_.model.head}})

train_dataloader = dict(
    dataset=dict(landmark_file=None, pipeline={{_base_.baseline_train_pipeline}}))
