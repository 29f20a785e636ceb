# ContraWarping on SimSiam (RW† + LD), ResNet-18, pre-trained on 100% MS1M.
# Paper row: Tab. 4 "SimSiam + Ours": RAF-DB linear 75.32, k-NN (k = 10 / 30) 62.57 / 63.39.
# §4.3: SGD lr 0.05 for a batch of 256 (here 8 GPUs x 32), "20 epochs on 100% MS1M for
# comparison with the state of the arts"; SimSiam's (= MoCo v2's) augmentations.
_base_ = [
    '../_base_/models/contrawarp_simsiam_r18.py',
    '../_base_/datasets/ms1m_contrawarp_mocov2.py',
    '../_base_/schedules/contrawarp_sgd_coslr_20e.py',
    '../_base_/default_runtime.py',
]
