# A tiny self-supervised model (no classifier head) for the feature-export tests.
default_scope = 'mmfer'
model = dict(
    type='SimCLR',
    data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[127.5] * 3,
                           std=[127.5] * 3, to_rgb=True),
    backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(3, )),
    neck=dict(type='NonLinearNeck', in_channels=64, hid_channels=32, out_channels=16,
              num_layers=2, with_avg_pool=True),
    head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), temperature=0.1))
