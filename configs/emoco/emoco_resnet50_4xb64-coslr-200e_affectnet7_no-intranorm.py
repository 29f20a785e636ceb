# EmoCo Table IV ablation - N off: plain L2 normalisation instead of the intra-class normalisation.
_base_ = './emoco_r50_8xb32-coslr-200e_affectnet7.py'
model = dict(use_intra_norm=False)
