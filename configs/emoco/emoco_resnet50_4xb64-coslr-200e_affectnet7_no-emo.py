# EmoCo Table IV ablation - L_emo off: no emotion classification loss (C is only trained through N).
_base_ = './emoco_r50_8xb32-coslr-200e_affectnet7.py'
model = dict(use_emo_loss=False)
