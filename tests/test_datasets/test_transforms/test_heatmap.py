# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
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
