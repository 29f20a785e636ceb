# Copyright (c) mmfer contributors. All rights reserved.
"""mmfer-scoped configs build mmfer, mmengine, mmpretrain and mmpose components."""
import pytest
import torch
from mmengine.registry import DefaultScope

import mmfer
from mmfer.registry import (DATA_SAMPLERS, DATASETS, HOOKS, LOOPS, METRICS, MODELS,
                            OPTIM_WRAPPERS, OPTIMIZERS, PARAM_SCHEDULERS, TRANSFORMS,
                            VISBACKENDS, VISUALIZERS)


def test_version_and_scope():
    assert isinstance(mmfer.__version__, str) and mmfer.__version__.count('.') == 2
    assert DefaultScope.get_current_instance().scope_name == 'mmfer'
    for reg in (MODELS, DATASETS, TRANSFORMS, DATA_SAMPLERS, METRICS, HOOKS, OPTIMIZERS,
                OPTIM_WRAPPERS, PARAM_SCHEDULERS, VISUALIZERS, VISBACKENDS, LOOPS):
        assert reg.scope == 'mmfer'
        assert reg.parent is not None and reg.parent.scope == 'mmengine'
        assert reg._locations, reg.name


@pytest.mark.parametrize('type_name', ['ResNet', 'mmpretrain.ResNet'])
def test_build_mmpretrain_resnet(type_name):
    net = MODELS.build(dict(type=type_name, depth=18, out_indices=(3, )))
    assert type(net).__module__.startswith('mmpretrain.')
    out = net(torch.zeros(1, 3, 64, 64))
    assert out[-1].shape == (1, 512, 2, 2)


def test_build_mmpose_hrnet_and_heatmap_head():
    extra = dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ),
                    num_channels=(16, )),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                    num_channels=(8, 16)),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(1, 1, 1),
                    num_channels=(8, 16, 32)),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                    num_channels=(8, 16, 32, 64), multiscale_output=True))
    hrnet = MODELS.build(dict(type='mmpose.HRNet', extra=extra))
    assert type(hrnet).__module__.startswith('mmpose.')
    # Unscoped 'HRNet' is mmpretrain's (searched first); the scope prefix picks mmpose's.
    assert MODELS.get('HRNet').__module__.startswith('mmpretrain.')
    feats = hrnet(torch.zeros(1, 3, 64, 64))
    assert feats[0].shape == (1, 8, 16, 16)
    # HeatmapHead (mmpose, found by fallback) builds its KeypointMSELoss under mmfer's scope.
    head = MODELS.build(dict(type='HeatmapHead', in_channels=64, out_channels=68,
                             deconv_out_channels=(32, ), deconv_kernel_sizes=(4, ),
                             loss=dict(type='KeypointMSELoss', use_target_weight=True)))
    assert type(head.loss_module).__name__ == 'KeypointMSELoss'
    assert head((torch.zeros(2, 64, 4, 4), )).shape == (2, 68, 8, 8)


def test_build_byol_pieces_and_mmengine_components():
    neck = MODELS.build(dict(type='NonLinearNeck', in_channels=512, hid_channels=64,
                             out_channels=32, with_avg_pool=True))
    assert neck([torch.zeros(2, 512, 2, 2)])[0].shape == (2, 32)
    # mmfer's LoadFaceImage (clear errors for corrupt images) is an mmcv LoadImageFromFile under
    # its own name: type='LoadImageFromFile' still means mmcv's
    from mmcv.transforms import LoadImageFromFile as MMCVLoadImageFromFile
    assert TRANSFORMS.get('LoadFaceImage').__module__.startswith('mmfer.')
    assert issubclass(TRANSFORMS.get('LoadFaceImage'), MMCVLoadImageFromFile)
    assert TRANSFORMS.get('LoadImageFromFile') is MMCVLoadImageFromFile
    assert TRANSFORMS.get('PackInputs').__module__.startswith('mmpretrain.')
    assert HOOKS.get('CheckpointHook').__module__.startswith('mmengine.')
    assert OPTIMIZERS.get('LARS').__module__.startswith('mmpretrain.')


def test_unknown_type_is_a_clear_error():
    with pytest.raises(KeyError, match='NoSuchBackbone'):
        MODELS.build(dict(type='NoSuchBackbone'))
