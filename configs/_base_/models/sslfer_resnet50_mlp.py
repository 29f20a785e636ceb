# SSL-FER downstream model: the pre-trained ResNet-18 encoder (backbone.* of an SSLFER
# checkpoint) + global average pooling + a 3-layer MLP head; Adam, cosine, 30 epochs.
# Frozen protocol: the encoder's 4 stages and BN statistics are frozen (frozen_stages=4,
# norm_eval=True); fine-tune protocol: everything trains.
# Set the checkpoint:  --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_100.pth
pretrained = 'work_dirs/sslfer_r18_4xb64-100e_voxceleb_f-timeaug-faceswap-hardneg-maskfn/epoch_100.pth'  # noqa: E501
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=18,
        out_indices=(3, ),
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
)
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=3e-4, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=30, by_epoch=True, begin=0, end=30,
         convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
