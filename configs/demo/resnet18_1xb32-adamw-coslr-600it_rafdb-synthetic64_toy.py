# A TOY expression classifier to check the inference pipeline end to end on a CPU: it has seen
# only synthetic faces (mmfer's procedural generator), never a real one, so its predictions
# on real photos mean nothing. It is not a paper setting. RAF-DB's 7 classes and layout:
#   python tools/misc/make_synthetic_faces.py data/demo_cls --format rafdb --num 2400 \
#       --image-size 64
#   python tools/train.py configs/demo/resnet18_1xb32-adamw-coslr-600it_rafdb-synthetic64_toy.py
#   python demo/image_demo.py astronaut.png \
#       configs/demo/resnet18_1xb32-adamw-coslr-600it_rafdb-synthetic64_toy.py \
#       work_dirs/resnet18_1xb32-adamw-coslr-600it_rafdb-synthetic64_toy/iter_600.pth --out out.png
# ResNet-18 at 1/4 width (16 base channels, 0.7 M parameters) on 64 px faces, AdamW, 600
# iterations of 32 faces.
_base_ = ['../_base_/datasets/rafdb.py', '../_base_/default_runtime.py']

data_root = 'data/demo_cls'
img_size = 64
# Faces are aligned onto the synthetic faces' own mean 5 points (eye centres, nose tip, mouth
# corners; measured over 400 generated 64 px faces), not onto RAF-DB's template: this model
# has only seen the generator's face geometry (FERInferencer reads `face_template`).
face_template = dict(
    points=[[23.9, 29.3], [39.7, 29.3], [31.6, 38.3], [25.1, 45.0], [38.5, 45.0]],
    size=(img_size, img_size))

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, base_channels=16, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=7, in_channels=128,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(img_size + 8, img_size + 8)),
    dict(type='RandomCrop', crop_size=img_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=1, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 600
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=max_iters - 50, by_epoch=False, begin=50,
         end=max_iters),
]
train_cfg = dict(by_epoch=False, max_iters=max_iters, val_interval=max_iters)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
