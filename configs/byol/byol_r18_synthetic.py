# Plain BYOL (mmpretrain's BYOL), ResNet-18, the baseline of configs/contrawarp/byol_r18_synthetic.py:
# the same data, pipeline, backbone, projector/predictor, optimiser, schedule and seed; BYOL
# uses views x1 and x2 only (x3 and the landmark targets the shared pipeline makes are unused).
# Used by `make demo` (BYOL vs ContraWarping-BYOL); not a paper row.
_base_ = ['../contrawarp/byol_r18_synthetic.py']

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
