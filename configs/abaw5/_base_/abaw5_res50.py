# Shared model + schedule of the ABAW5 frame models (res50*.py): ResNet-50 with the first two
# stages frozen, SpatialFlatten neck (2048x7x7 -> 256x6x6 -> 256x3x3 -> 2304-d), one FC;
# SGD lr 5e-3, cosine decay, 8000 iterations. The leaf configs add the data and hooks.
img_size = 224  # crop size of the pipelines in the dataset base
feat_size = img_size // 32  # ResNet output map: 7x7
# SpatialFlatten output, computed from the neck's geometry (k=2; strides 1 then 2):
# (7 - 2) // 1 + 1 = 6, (6 - 2) // 2 + 1 = 3 -> 256 * 3 * 3 = 2304
neck_channels = 256
flat_size = ((feat_size - 2) // 1 + 1 - 2) // 2 + 1
flat_dim = neck_channels * flat_size * flat_size

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        # stem + layer1 + layer2 frozen (requires_grad=False, BN kept in eval mode)
        frozen_stages=2,
        norm_eval=False,
        # ResNet.init_weights would zero the last BN of every block after init_cfg
        zero_init_residual=False,
        init_cfg=dict(type='PretrainedBackbone', checkpoint=None, prefix='backbone.'),
    ),
    neck=dict(
        type='SpatialFlatten',
        in_channels=2048,
        input_size=feat_size,
        channels=neck_channels,
        kernel_size=2,
        strides=(1, 2),
    ),
    head=dict(
        type='LinearClsHead',
        num_classes=8,
        in_channels=flat_dim,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ),
)

# schedule: SGD lr 5e-3, cosine decay over 8000 iterations
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=5e-3, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='CosineAnnealingLR', T_max=8000, by_epoch=False, eta_min=0.0)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=8000, val_interval=1000)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
