# ABAW5 expression frame classifier with a ResNet-18 backbone (512x7x7 -> 2304-d).
_base_ = ['./res50.py']

model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=512),
)
