# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest
from mmengine.registry import DefaultScope

from mmfer.datasets.transforms.heatmap import build_codec, encode_heatmaps


def test_build_codec_uses_mmpose_and_leaves_scope(monkeypatch):
    import mmengine.logging
    logged = []
    monkeypatch.setattr(mmengine.logging, 'print_log',
                        lambda msg, *a, **k: logged.append(str(msg)))
    before = DefaultScope.get_current_instance().scope_name
    codec = build_codec(dict(type='mmpose.MSRAHeatmap', input_size=(64, 64),
                             heatmap_size=(16, 16), sigma=1.5))
    assert type(codec).__module__.startswith('mmpose.')
    assert DefaultScope.get_current_instance().scope_name == before
    assert not [m for m in logged if 'Failed to search registry' in m], logged
    kpts = np.array([[8.0, 8.0], [40.0, 20.0]], np.float32)
    hm, w = encode_heatmaps(codec, kpts, np.array([1.0, 0.1], np.float32))
    assert hm.shape == (2, 16, 16)
    # the peak lands at the keypoint / 4 (64 -> 16 px)
    assert np.unravel_index(hm[1].argmax(), hm[1].shape) == (5, 10)
    np.testing.assert_allclose(np.asarray(w).ravel(), [1.0, 0.1])


@pytest.mark.parametrize('sigma,input_size,heatmap_size,unbiased', [
    (1.5, (224, 224), (56, 56), False),  # ContraWarping's codec
    (2.0, (64, 48), (16, 12), False),
    (1.0, (256, 256), (64, 64), False),
    (3.0, (100, 60), (50, 30), False),
    (2.0, (64, 64), (16, 16), True),  # another codec: encoded view by view by mmpose
])
def test_batched_encoding_equals_mmpose_per_view(sigma, input_size, heatmap_size, unbiased):
    codec = build_codec(dict(type='MSRAHeatmap', input_size=input_size,
                             heatmap_size=heatmap_size, sigma=sigma, unbiased=unbiased))
    rng = np.random.default_rng(int(sigma * 10))
    size = np.array(input_size, np.float32)
    for i in range(25):
        kpts = (rng.uniform(-0.3, 1.3, (2, 68, 2)) * size).astype(np.float32)
        if i % 3 == 0:  # whole and half pixels: the rounding of the Gaussian centres
            kpts = np.round(kpts * 2) / 2
        # at and beyond the borders, where mmpose truncates towards zero
        kpts[:, :8] = rng.choice(np.array([-0.5, 0, -1.5, -2.5, -9, size[0] - 0.5,
                                           size[0] + 3.9, size[0] + 40], np.float32), (2, 8, 2))
        weights = rng.choice(np.array([0, 0.1, 1], np.float32), (2, 68))
        hm, kw = encode_heatmaps(codec, kpts, weights)
        assert hm.shape == (2, 68, heatmap_size[1], heatmap_size[0]) and hm.dtype == np.float32
        for v in range(2):
            ref = codec.encode(kpts[v:v + 1], (weights[v:v + 1] > 0).astype(np.float32))
            np.testing.assert_array_equal(hm[v], ref['heatmaps'])
            np.testing.assert_array_equal(kw[v], ref['keypoint_weights'][0] * weights[v])
            # the single-view call gives the same
            hm1, kw1 = encode_heatmaps(codec, kpts[v], weights[v])
            np.testing.assert_array_equal(hm1, hm[v])
            np.testing.assert_array_equal(kw1, kw[v])
        assert (kw == 0).any() and hm.any()  # some landmarks fell off, others were drawn


def test_encode_heatmaps_checks_shapes():
    codec = build_codec(dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16),
                             sigma=1.5))
    with pytest.raises(ValueError, match=r'\(K, 2\) or \(V, K, 2\)'):
        encode_heatmaps(codec, np.zeros((68, 3), np.float32))
    with pytest.raises(ValueError, match='input_size'):
        encode_heatmaps(codec, np.zeros((68, 2), np.float32), img_shape=(32, 64))
