# Plain BYOL (mmpretrain's BYOL), ResNet-18, pre-trained on 100% MS1M: the baseline of
# contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py (same data, backbone, projector,
# predictor and schedule; BYOL's own two views, no warping, no landmark branch).
# Paper row: Tab. 4 "BYOL": RAF-DB linear 77.09, k-NN (k = 10 / 30) 61.04 / 62.06.
_base_ = ['./contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py']

model = dict(
    _delete_=True,
    type='BYOL',
    base_momentum={{_base_.model.base_momentum}},
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    head=dict(
        type='LatentPredictHead',
        predictor={{_base_.model.head.predictor}},
        loss=dict(type='CosineSimilarityLoss')))

train_dataloader = dict(
    dataset=dict(landmark_file=None, pipeline={{_base_.baseline_train_pipeline}}))
