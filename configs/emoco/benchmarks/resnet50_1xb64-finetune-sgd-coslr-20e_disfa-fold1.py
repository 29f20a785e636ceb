# EmoCo downstream, fine-tuning protocol (encoder + AU classifier trained), on DISFA (8 AUs),
# fold 1 of the subject-wise 3-fold cross-validation (§IV.A.3; an AU is present when its
# intensity is > 1). Folds 2 and 3: set the two ann_file to lists/fold{2,3}_{train,test}.txt;
# the paper reports the mean over the folds.
# Paper (mean over the 3 folds): Table II avg F1 58.6 (EmoCo(finetime) row).
# Metric au/f1/mean (and au/f1/<AU>).
_base_ = [
    '../../_base_/datasets/au_list.py',
    '../../_base_/models/emoco_resnet50_au.py',
    '../../_base_/schedules/emoco_au_sgd-coslr-20e.py',
    '../../_base_/default_runtime.py',
]
data_root = 'data/disfa/'
au_names = {{_base_.disfa_aus}}
train_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='lists/fold1_train.txt', au_names=au_names))
val_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='lists/fold1_test.txt', au_names=au_names))
test_dataloader = val_dataloader
model = dict(head=dict(num_classes=8))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='au/f1/mean', rule='greater'))
