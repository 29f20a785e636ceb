# EmoCo pre-training data (§IV.A.1, §IV.B.1): AffectNet's manually annotated training images of
# the 7 basic expressions (about 280,000; labels required: C and the per-class queues use
# them). Two views per image with MoCo v2's augmentation ("the data augmentation settings
# follows MoCo [11]"): random resized crop 224 (scale 0.2-1), colour jitter 0.4/0.4/0.4/0.1
# (p = 0.8), grey (p = 0.2), Gaussian blur sigma ~ U(0.1, 2) (p = 0.5), flip.
# Preprocessing: the paper aligns faces to 256x256 on SeetaFace's five landmarks; here the
# AffectNet CSV face box is cropped (CropFaceBox), without alignment.
data_root = 'data/affectnet/'
view_pipeline = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.), backend='pillow'),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='SafeColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5),
    dict(type='RandomFlip', prob=0.5),
]
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='CropFaceBox'),  # AffectNet images are full pictures: crop the face box
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),  # gt_label: the emotion, used by C and the multi-queue
]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='AffectNet',
        data_root=data_root,
        split='train',
        num_classes=7,
        crop_face=True,
        pipeline=train_pipeline))
