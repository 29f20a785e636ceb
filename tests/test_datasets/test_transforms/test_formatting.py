# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmfer.registry import TRANSFORMS


def _results():
    img = np.full((8, 8, 3), 7, np.uint8)
    return dict(img=img, img_path='a.jpg', identity=3, frame=np.int64(12),
                time_offset=np.array([0.5, -1.25]), scale=0.75, hardneg_valid=np.bool_(True),
                views=dict(positive=dict(img=img + 1, img_path='b.jpg', frame=13)))


def test_pack_multi_view_inputs_keeps_dtypes_and_order():
    pack = TRANSFORMS.build(dict(type='PackMultiViewInputs', view_roles=('anchor', 'positive'),
                                 data_keys=('identity', 'frame', 'time_offset', 'scale',
                                            'hardneg_valid')))
    out = pack.transform(_results())
    assert [tuple(x.shape) for x in out['inputs']] == [(3, 8, 8), (3, 8, 8)]
    assert int(out['inputs'][0][0, 0, 0]) == 7 and int(out['inputs'][1][0, 0, 0]) == 8
    ds = out['data_samples']
    assert ds.identity.dtype == torch.long and int(ds.identity) == 3
    assert ds.frame.dtype == torch.long and int(ds.frame) == 12
    # float arrays and scalars stay float (they used to be truncated to integers)
    assert ds.time_offset.dtype == torch.float32
    assert ds.time_offset.tolist() == [0.5, -1.25]
    assert ds.scale.dtype == torch.float32 and float(ds.scale) == 0.75
    assert ds.hardneg_valid.dtype == torch.bool and bool(ds.hardneg_valid)
    assert ds.metainfo['view_roles'] == ('anchor', 'positive')
    assert ds.metainfo['view_info'] == {'positive': {'img_path': 'b.jpg', 'frame': 13}}


def test_pack_multi_view_inputs_names_missing_view_and_key():
    pack = TRANSFORMS.build(dict(type='PackMultiViewInputs', view_roles=('anchor', 'hardneg'),
                                 data_keys=()))
    with pytest.raises(KeyError, match="no view 'hardneg'.*a.jpg"):
        pack.transform(_results())
    pack = TRANSFORMS.build(dict(type='PackMultiViewInputs', view_roles=('anchor', ),
                                 data_keys=('video', )))
    with pytest.raises(KeyError, match="no 'video'.*a.jpg"):
        pack.transform(_results())
