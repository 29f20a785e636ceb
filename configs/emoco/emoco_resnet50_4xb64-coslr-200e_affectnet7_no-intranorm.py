# EmoCo Table IV ablation without N: plain L2 normalisation instead of the intra-class
# normalisation (§IV.E: "N denotes using intra-class normalization or L2 normalization").
_base_ = './emoco_resnet50_4xb64-coslr-200e_affectnet7.py'
model = dict(use_intra_norm=False)
