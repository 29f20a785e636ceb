# EmoCo downstream, linear protocol (frozen encoder + a linear AU classifier), on GFT (10 AUs),
# fold 1 of subject-wise 3-fold lists (NOT the paper's GFT protocol, which is the
# official train/test split: see resnet50_1xb64-linear-sgd-coslr-20e_gft-official.py).
# Metric au/f1/mean (and au/f1/<AU>).
_base_ = [
    '../../_base_/datasets/au_list.py',
    '../../_base_/models/emoco_resnet50_au.py',
    '../../_base_/schedules/emoco_au_sgd-coslr-20e.py',
    '../../_base_/default_runtime.py',
]
data_root = 'data/gft/'
au_names = {{_base_.gft_aus}}
train_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='lists/fold1_train.txt', au_names=au_names))
val_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='lists/fold1_test.txt', au_names=au_names))
test_dataloader = val_dataloader
model = dict(
    backbone=dict(frozen_stages=4, norm_eval=True),  # frozen encoder
    head=dict(num_classes=10))
optim_wrapper = dict(optimizer=dict(lr=0.01))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='au/f1/mean', rule='greater'))
