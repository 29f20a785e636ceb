# ContraWarping on MoCo v2 (RW† + LD), ResNet-18, pre-trained on 100% MS1M; x3's key is an
# extra full negative of x1 (§4.5, no s_t).
# Paper row: Tab. 4 "MoCo V2 + Ours": RAF-DB linear 58.77, k-NN (k = 10 / 30) 44.91 / 45.66.
# The paper gives no MoCo v2 schedule ("the same settings as the original SSL method"): MoCo
# v2's SGD lr 0.03 for a batch of 256 (here 8 GPUs x 32) and MoCo v2's augmentations, for the
# 20 epochs on 100% MS1M that SimSiam uses in the same table.
_base_ = [
    '../_base_/models/contrawarp_mocov2_r18.py',
    '../_base_/datasets/ms1m_contrawarp_mocov2.py',
    '../_base_/schedules/contrawarp_sgd_coslr_20e_mocov2.py',
    '../_base_/default_runtime.py',
]
