# Copyright (c) mmfer contributors. All rights reserved.
import pytest
import torch

from mmfer.models.necks.spatial_flatten import spatial_flatten_output_size
from mmfer.registry import MODELS


def test_spatial_flatten_resnet50_shape():
    neck = MODELS.build(dict(type='SpatialFlatten', in_channels=2048))
    assert neck.sizes == ((6, 6), (3, 3))
    assert neck.out_channels == 2304
    convs = [m.conv for m in neck.convs]
    assert [c.out_channels for c in convs] == [256, 256]
    assert [c.kernel_size for c in convs] == [(2, 2), (2, 2)]
    assert [c.stride for c in convs] == [(1, 1), (2, 2)]
    neck.init_weights()
    x = torch.randn(2, 2048, 7, 7)
    feats = (torch.randn(2, 1024, 14, 14), x)
    out = neck(feats)
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (2, 2304)
    # spatial layout is kept: the output is the flattened 256x3x3 map, not a pooled vector
    ref = neck.convs(x).flatten(1)
    assert torch.allclose(out[0], ref)
    assert (out[0] >= 0).all()  # ends with ReLU


def test_spatial_flatten_configurable_strides_and_errors():
    neck = MODELS.build(dict(type='SpatialFlatten', in_channels=512, input_size=4,
                             strides=(1, 1), channels=32))
    assert neck.sizes == ((3, 3), (2, 2))
    assert neck.out_channels == 32 * 2 * 2
    assert neck(torch.randn(3, 512, 4, 4))[0].shape == (3, 128)
    neck.check_head_in_channels(128)
    with pytest.raises(ValueError, match=r'model.head.in_channels=100 .*set '
                       r'model.head.in_channels=128'):
        neck.check_head_in_channels(100)
    # wrong map size: the message gives the keys and the value to set
    with pytest.raises(ValueError, match=r'got a 512x7x7 .*model.neck.input_size=\(7, 7\) '
                       r'and model.head.in_channels=800'):
        neck((torch.randn(1, 512, 7, 7), ))
    with pytest.raises(ValueError, match='got a 256x4x4'):
        neck(torch.randn(1, 256, 4, 4))
    with pytest.raises(ValueError, match='cannot run on a 1x1 map'):
        spatial_flatten_output_size(2, 2, (1, 2))
    with pytest.raises(ValueError, match='cannot run'):
        MODELS.build(dict(type='SpatialFlatten', in_channels=2048, input_size=1))


def test_spatial_flatten_text_reading_vs_released_strides():
    """The paper's text (two stride-2 convs) gives 7 -> 3 -> 1 (256-d); the released code's
    strides (1, 2) give 7 -> 6 -> 3 (2304-d), the default; ResNet-18 maps give the same."""
    assert spatial_flatten_output_size(7, 2, (2, 2)) == ((3, 3), (1, 1))
    text = MODELS.build(dict(type='SpatialFlatten', in_channels=2048, strides=(2, 2)))
    assert text.out_channels == 256
    r18 = MODELS.build(dict(type='SpatialFlatten', in_channels=512))
    assert r18.out_channels == 2304 and r18(torch.randn(1, 512, 7, 7))[0].shape == (1, 2304)
