# Plain SimSiam (mmpretrain's SimSiam), ResNet-18, 50 epochs on the random 10% of MS1M: the
# baseline of the ablation (same data, networks and schedule as the contrawarp-simsiam_*_10pct
# configs; SimSiam's own two views, no warping, no landmark branch).
# Paper row: Tab. 1 "SimSiam": RAF-DB linear 69.95, k-NN (k = 10 / 30) 53.10 / 52.54.
_base_ = [
    '../_base_/models/simsiam_r18.py',
    '../_base_/datasets/ms1m_contrawarp_mocov2.py',
    '../_base_/schedules/contrawarp_sgd_coslr_50e.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(
    dataset=dict(
        landmark_file=None,
        subset_fraction=0.1,  # the same seeded random 10% as the ContraWarping ablation rows
        subset_seed=0,
        pipeline={{_base_.baseline_train_pipeline}}))
