# EmoCo downstream, linear protocol (frozen encoder + a linear AU classifier), on BP4D (12 AUs),
# fold 1 of the subject-wise 3-fold cross-validation (§IV.A.4). Folds 2 and 3: set the two
# ann_file to lists/fold{2,3}_{train,test}.txt; the paper reports the mean over the folds.
# Paper (mean over the 3 folds): Table III avg F1 59.3 (EmoCo row).
# Metric au/f1/mean (and au/f1/<AU>).
_base_ = [
    '../../_base_/datasets/au_list.py',
    '../../_base_/models/emoco_resnet50_au.py',
    '../../_base_/schedules/emoco_au_sgd-coslr-20e.py',
    '../../_base_/default_runtime.py',
]
data_root = 'data/bp4d/'
au_names = {{_base_.bp4d_aus}}
train_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='lists/fold1_train.txt', au_names=au_names))
val_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='lists/fold1_test.txt', au_names=au_names))
test_dataloader = val_dataloader
model = dict(
    backbone=dict(frozen_stages=4, norm_eval=True),  # frozen encoder
    head=dict(num_classes=12))
optim_wrapper = dict(optimizer=dict(lr=0.01))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='au/f1/mean', rule='greater'))
