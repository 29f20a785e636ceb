# Plain SimSiam (mmpretrain's SimSiam), ResNet-18, 50 epochs on the random 10% of MS1M: the
# baseline of the ablation (same data, networks and schedule as the contrawarp-simsiam_*_10pct
# configs; SimSiam's own two views, no warping, no landmark branch).
# Paper row: Tab. 1 "SimSiam": RAF-DB linear 69.95, k-NN (k = 10 / 30) 53.10 / 52.54.
_base_ = ['./contrawarp-simsiam_resnet18_8xb32-coslr-50e_ms1m-10pct_rw-landmark-ld.py']

model = dict(
    _delete_=True,
    type='SimSiam',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    head=dict(
        type='LatentPredictHead',
        predictor={{_base_.model.head.predictor}},
        loss=dict(type='CosineSimilarityLoss')))

train_dataloader = dict(
    dataset=dict(landmark_file=None, pipeline={{_base_.baseline_train_pipeline}}))
