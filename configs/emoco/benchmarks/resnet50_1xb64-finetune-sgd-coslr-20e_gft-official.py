# EmoCo downstream, fine-tuning protocol (encoder + AU classifier trained), on GFT (10 AUs),
# the official train/test split of GFT (§IV.A.2: "about 108000 facial images for
# training and 24600 images for valuation"; lists from gft.py --official-split). "We
# perform three-time test on its validation set and report the average": run it three
# times (randomness.seed=0, 1, 2) and average au/f1/mean (configs/emoco/README.md).
# Paper: Table I avg F1 58.6 (EmoCo(finetime) row).
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
    dataset=dict(data_root=data_root, ann_file='lists/official_train.txt', au_names=au_names))
val_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='lists/official_test.txt', au_names=au_names))
test_dataloader = val_dataloader
model = dict(head=dict(num_classes=10))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='au/f1/mean', rule='greater'))
