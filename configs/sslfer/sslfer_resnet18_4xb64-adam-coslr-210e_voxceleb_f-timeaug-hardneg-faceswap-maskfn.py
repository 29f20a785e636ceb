# A small variant of the full SSL-FER model (Table 1 row f) with a ResNet-18 encoder (512-d
# features, 512-d projector hidden layer). Not a paper row: the paper uses ResNet-50 (§4.1).
_base_ = './sslfer_resnet50_4xb64-adam-coslr-210e_voxceleb_f-timeaug-hardneg-faceswap-maskfn.py'
model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=512))
