# EmoCo Table IV ablation - MQ off: one MoCo queue of K keys shared by all classes
# (negatives of any class).
_base_ = './emoco_r50_8xb32-coslr-200e_affectnet7.py'
model = dict(use_multi_queue=False)
