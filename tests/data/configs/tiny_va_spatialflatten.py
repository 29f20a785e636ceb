# A tiny ABAW5-style valence/arousal model for export / FLOPs tests: ResNet-18 at 1/8 width,
# the SpatialFlatten neck (64x3x3 -> 16x2x2 -> 16x1x1 on 96x96 inputs) and a tanh VA head.
default_scope = 'mmfer'
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(3, )),
    neck=dict(type='SpatialFlatten', in_channels=64, input_size=3, channels=16,
              kernel_size=2, strides=(1, 2)),
    head=dict(type='VARegressionHead', in_channels=16, num_outputs=2, activation='tanh',
              loss=dict(type='CCCLoss')))
