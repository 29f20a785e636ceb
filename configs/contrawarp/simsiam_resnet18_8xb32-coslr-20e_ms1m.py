# Plain SimSiam (mmpretrain's SimSiam), ResNet-18, pre-trained on 100% MS1M: the baseline of
# contrawarp-simsiam_resnet18_8xb32-coslr-20e_ms1m.py (same data, networks and schedule;
# SimSiam's own two views, no warping, no landmark branch).
# Paper row: Tab. 4 "SimSiam": RAF-DB linear 69.33, k-NN (k = 10 / 30) 60.00 / 60.30.
_base_ = ['./contrawarp-simsiam_resnet18_8xb32-coslr-20e_ms1m.py']

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
