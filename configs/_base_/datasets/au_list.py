# AU detection data for EmoCo's downstream protocols (BP4D, DISFA, GFT): AU lists written by
# tools/dataset_converters/{bp4d,disfa,gft}.py (lists/all.txt, subject-wise
# lists/fold{1,2,3}_{train,test}.txt, GFT's official lists/official_{train,test}.txt), images
# under <data_root>/aligned/. Labels 1 / 0, 9 = unknown (masked in the loss and the F1).
# The leaf configs set data_root, au_names and the ann_file of train / val.
# Preprocessing: resize 256 (the paper aligns faces to 256x256, §IV.B.1), random crop 224 +
# flip for training, centre crop 224 for testing (the paper gives no downstream augmentation).
dataset_type = 'AUListDataset'
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
    dataset=dict(type=dataset_type, data_prefix='aligned/', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_prefix='aligned/', pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='AUF1Metric', threshold=0.5, mask_key='au_mask')
test_evaluator = val_evaluator

# the AUs of each dataset in EmoCo's Tables I-III
bp4d_aus = ['AU1', 'AU2', 'AU4', 'AU6', 'AU7', 'AU10', 'AU12', 'AU14', 'AU15', 'AU17', 'AU23',
            'AU24']
disfa_aus = ['AU1', 'AU2', 'AU4', 'AU6', 'AU9', 'AU12', 'AU25', 'AU26']
gft_aus = ['AU1', 'AU2', 'AU4', 'AU6', 'AU10', 'AU12', 'AU14', 'AU15', 'AU23', 'AU24']
