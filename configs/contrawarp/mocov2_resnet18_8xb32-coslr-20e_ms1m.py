# Plain MoCo v2 (mmpretrain's MoCo + MoCoV2Neck), ResNet-18, pre-trained on 100% MS1M: the
# baseline of contrawarp-mocov2_resnet18_8xb32-coslr-20e_ms1m.py (same data, networks and
# schedule; MoCo v2's own two views, no warping, no landmark branch).
# Paper row: Tab. 4 "MoCo V2": RAF-DB linear 57.82, k-NN (k = 10 / 30) 44.10 / 46.48.
_base_ = [
    '../_base_/models/mocov2_r18.py',
    '../_base_/datasets/ms1m_contrawarp_mocov2.py',
    '../_base_/schedules/contrawarp_sgd_coslr_20e_mocov2.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(
    dataset=dict(landmark_file=None, pipeline={{_base_.baseline_train_pipeline}}))
