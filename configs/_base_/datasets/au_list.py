# BP4D AU detection data: AU lists written by
#   python tools/dataset_converters/bp4d.py data/bp4d/AUCoding data/bp4d/lists \
#       --img-root data/bp4d/aligned --aus 1 2 4 6 7 10 12 14 15 17 23 24
# (lists/all.txt, lists/fold{1,2,3}_{train,test}.txt: subject-wise 3 folds). Labels 1 / 0,
# 9 = unknown (masked in the loss and the F1). For fold K (--cfg-options does not re-resolve
# `fold`), pass: --cfg-options train_dataloader.dataset.ann_file=lists/foldK_train.txt
#                              val_dataloader.dataset.ann_file=lists/foldK_test.txt
dataset_type = 'AUListDataset'
data_root = 'data/bp4d/'
fold = 1
au_names = ['AU1', 'AU2', 'AU4', 'AU6', 'AU7', 'AU10', 'AU12', 'AU14', 'AU15', 'AU17', 'AU23',
            'AU24']
data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(256, 256)),
    dict(type='RandomCrop', crop_size=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('au_mask', )),
]
test_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(256, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs', algorithm_keys=('au_mask', )),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='aligned/',
                 ann_file=f'lists/fold{fold}_train.txt', au_names=au_names,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='aligned/',
                 ann_file=f'lists/fold{fold}_test.txt', au_names=au_names,
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='AUF1Metric', threshold=0.5, mask_key='au_mask')
test_evaluator = val_evaluator
