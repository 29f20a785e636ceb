# Plain SimSiam (mmpretrain's SimSiam), ResNet-18, pre-trained on 100% MS1M: the baseline of
# contrawarp-simsiam_resnet18_8xb32-coslr-20e_ms1m.py (same data, networks and schedule;
# SimSiam's own two views, no warping, no landmark branch).
# Paper row: Tab. 4 "SimSiam": RAF-DB linear 69.33, k-NN (k = 10 / 30) 60.00 / 60.30.
_base_ = [
    '../_base_/models/simsiam_r18.py',
    '../_base_/datasets/ms1m_contrawarp_mocov2.py',
    '../_base_/schedules/contrawarp_sgd_coslr_20e.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(
    dataset=dict(landmark_file=None, pipeline={{_base_.baseline_train_pipeline}}))
