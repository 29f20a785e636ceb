# ContraWarping on BYOL (RW† + LD), ResNet-50, pre-trained on 100% MS1M.
# Paper row: Tab. 5 "Ours, Res-50": RAF-DB linear 84.64, k-NN (k = 10 / 30) 66.72 / 68.06.
# The settings of the ResNet-18 row (§4.3: batch 4096, LARS lr 4.8, 50 epochs on 100% MS1M);
# only the backbone changes.
_base_ = ['./contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py']

model = dict(
    backbone=dict(depth=50),
    neck=dict(in_channels=2048),
    landmark_head=dict(in_channels=2048))
