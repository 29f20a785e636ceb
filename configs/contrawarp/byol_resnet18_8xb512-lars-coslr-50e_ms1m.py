# Plain BYOL (mmpretrain's BYOL), ResNet-18, pre-trained on 100% MS1M: the baseline of
# contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py (same data, backbone, projector,
# predictor and schedule; BYOL's own two views, no warping, no landmark branch).
# Paper row: Tab. 4 "BYOL": RAF-DB linear 77.09, k-NN (k = 10 / 30) 61.04 / 62.06.
_base_ = [
    '../_base_/models/byol_r18.py',
    '../_base_/datasets/ms1m_contrawarp_byol.py',
    '../_base_/schedules/contrawarp_lars_coslr_50e.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(
    batch_size=512,  # 8 GPUs x 512 = 4096
    num_workers=16,
    dataset=dict(landmark_file=None, pipeline={{_base_.baseline_train_pipeline}}))
