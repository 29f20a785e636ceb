# EmoCo AU evaluation, finetune protocol on GFT (10 AUs), fold 1 of the subject-wise
# 3-fold split (folds 2/3: override train/val ann_file, see _gft.py); metric au/f1/mean.
_base_ = ['_gft.py', '_finetune_r50.py', '../_base_/default_runtime.py']
model = dict(head=dict(num_classes=10))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='au/f1/mean', rule='greater'))
