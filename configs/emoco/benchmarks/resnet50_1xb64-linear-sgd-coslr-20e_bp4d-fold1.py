# EmoCo AU evaluation, linear protocol on BP4D (12 AUs), fold 1 of the subject-wise
# 3-fold split (folds 2/3: override train/val ann_file, see _bp4d.py); metric au/f1/mean.
_base_ = ['_bp4d.py', '_linear_r50.py', '../_base_/default_runtime.py']
model = dict(head=dict(num_classes=12))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='au/f1/mean', rule='greater'))
