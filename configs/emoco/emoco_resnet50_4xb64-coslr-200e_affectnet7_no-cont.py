# EmoCo Table IV ablation - L_cont off: supervised emotion classification only (no
# contrastive loss, no queue updates).
_base_ = './emoco_r50_8xb32-coslr-200e_affectnet7.py'
model = dict(use_cont_loss=False)
