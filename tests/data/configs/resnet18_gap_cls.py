# A full-width ResNet-18 classifier (GAP + linear head, 7 classes) for checkpoint-conversion
# tests: the shapes of SSL-FER's ResNet-18 encoder.
default_scope = 'mmfer'
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=7, in_channels=512,
              loss=dict(type='CrossEntropyLoss')))
