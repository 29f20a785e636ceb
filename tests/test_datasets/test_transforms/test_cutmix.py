# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest

from mmfer.datasets.synthetic import write_voxceleb
from mmfer.datasets.transforms import CenterCutMix, TimeAug, center_cutmix
from mmfer.registry import DATASETS


def test_center_cutmix_pastes_the_centre_patch():
    src = np.full((20, 40, 3), 255, np.uint8)
    dst = np.zeros((10, 20, 3), np.uint8)  # resized to the source's size first
    out = center_cutmix(src, dst, 0.25)  # sides halved: a 10 x 20 patch in the centre
    assert out.shape == (20, 40, 3)
    patch = np.zeros((20, 40), bool)
    patch[5:15, 10:30] = True
    assert (out[patch] == 255).all() and (out[~patch] == 0).all()
    assert (center_cutmix(src, dst, 0.) == 0).all() and (center_cutmix(src, dst, 1.) == 255).all()


@pytest.fixture(scope='module')
def vox(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('vox'))
    write_voxceleb(root, num_identities=3, videos_per_identity=1, frames_per_video=6,
                   image_size=48, seed=0)
    return DATASETS.build(dict(type='VoxCelebFrames', data_root=root,
                               landmark_file='landmarks.npz', fps=5))


def test_transform_mixes_with_another_identity(vox):
    info = vox.get_data_info(2)
    res = TimeAug(seed=0)(dict(info))
    before = res['views']['positive']['img'].copy()
    t = CenterCutMix(prob=1.0, area_range=(0.36, 0.36), seed=0)
    out = t(res)
    view = out['views']['positive']
    assert out['cutmixed'] and t.num_mixed == 1
    assert view['swap_identity'] not in (-1, info['identity']) and view['mix_ratio'] == 0.36
    other = vox.frame_index.img_paths.tolist().index(view['swap_img_path'])
    assert vox.frame_index.identity[other] == view['swap_identity']
    # the centre patch (0.6 x 48 = 29 px sides) is the positive's, the border is not
    y0 = (48 - 29) // 2
    assert np.array_equal(view['img'][y0:y0 + 29, y0:y0 + 29], before[y0:y0 + 29, y0:y0 + 29])
    assert not np.array_equal(view['img'][:y0], before[:y0])
    # a role other than the positive gets its own flag; p = 0 never mixes
    res = TimeAug(seed=0, anchor_role='anchor', role='hardneg_positive')(dict(info))
    out = CenterCutMix(prob=1.0, role='hardneg_positive', seed=0)(res)
    assert out['hardneg_positive_cutmixed'] and 'cutmixed' not in out
    assert not CenterCutMix(prob=0.0)(TimeAug(seed=0)(dict(info)))['cutmixed']
    with pytest.raises(KeyError, match="no view 'positive'"):
        CenterCutMix()(dict(info))
    with pytest.raises(ValueError, match='area_range'):
        CenterCutMix(area_range=(0.5, 0.2))
