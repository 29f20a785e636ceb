# ContraWarping on SimSiam with landmark-based warping and the landmark branch (RW† + LD),
# ResNet-18, 50 epochs on a random 10% of MS1M: the ablation setting (§4.4).
# Paper rows: Tab. 1 "SimSiam + RW† + LD" = Tab. 3 "Landmark-based": RAF-DB linear 75.29,
# k-NN (k = 10 / 30) 62.32 / 62.97.
# §4.3: SGD lr 0.05 for a batch of 256 (here 8 GPUs x 32), "50 epochs on 10% MS1M for ablation
# studies". The paper does not say which 10%: a seeded random 10% of the images (MS1M is
# sorted by identity, so not the first 10%), the same for every ablation config.
_base_ = [
    '../_base_/models/contrawarp_simsiam_r18.py',
    '../_base_/datasets/ms1m_contrawarp_mocov2.py',
    '../_base_/schedules/contrawarp_sgd_coslr_50e.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(dataset=dict(subset_fraction=0.1, subset_seed=0))
