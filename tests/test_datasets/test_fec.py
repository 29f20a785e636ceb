# Copyright (c) mmfer contributors. All rights reserved.
import os

import cv2
import numpy as np
import pytest

from mmfer.datasets import FEC
from mmfer.registry import DATASETS


def _write(root, rows, split='test', agreement=True, skip=()):
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    (root / 'images').mkdir(exist_ok=True)
    head = 'image1,image2,image3,odd_one_out,triplet_type' + (',agreement' if agreement
                                                              else '')
    lines = [head] + [','.join(map(str, r if agreement else r[:5])) for r in rows]
    (root / 'annotations' / f'{split}.csv').write_text('\n'.join(lines) + '\n')
    for r in rows:
        for name in r[:3]:
            if name not in skip:
                cv2.imwrite(str(root / 'images' / name), np.full((16, 16, 3), 7, np.uint8))


ROWS = [('a.jpg', 'b.jpg', 'c.jpg', 3, 'ONE_CLASS_TRIPLET', 1.0),
        ('b.jpg', 'd.jpg', 'a.jpg', 1, 'TWO_CLASS_TRIPLET', 0.667),
        ('c.jpg', 'd.jpg', 'e.jpg', 2, 'THREE_CLASS_TRIPLET', 0.833)]


def test_fec_triplets(tmp_path):
    _write(tmp_path, ROWS)
    ds = DATASETS.build(dict(type='FEC', data_root=str(tmp_path), split='test', pipeline=[]))
    assert len(ds) == 3
    assert ds.get_gt_labels().tolist() == [2, 0, 1]
    info = ds.get_data_info(1)
    assert [os.path.basename(p) for p in info['img_paths']] == ['b.jpg', 'd.jpg', 'a.jpg']
    assert info['triplet_type'] == 'two_class' and info['agreement'] == pytest.approx(0.667)
    assert [os.path.basename(p) for p in ds.unique_images()] == [
        'a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg']
    one = FEC(str(tmp_path), split='test', triplet_types=['one_class'])
    assert len(one) == 1
    assert info['img_path'] == info['img_paths']  # ApplyToList's scatter key: the 3 paths
    # the three images of a triplet through one per-image pipeline (mmpretrain's ApplyToList)
    for name in ('a.jpg', 'c.jpg'):  # distinguishable images
        cv2.imwrite(str(tmp_path / 'images' / name),
                    np.full((16, 12, 3), 50 if name == 'a.jpg' else 200, np.uint8))
    packed = FEC(str(tmp_path), split='test', pipeline=[
        dict(type='ApplyToList', scatter_key='img_path', collate_keys=['img'],
             transforms=[dict(type='LoadFaceImage'), dict(type='Resize', scale=(8, 8))]),
        dict(type='PackInputs', meta_keys=['triplet_type', 'img_paths'])])[0]
    assert len(packed['inputs']) == 3 and tuple(packed['inputs'][2].shape) == (3, 8, 8)
    means = [float(x.float().mean()) for x in packed['inputs']]  # a.jpg, b.jpg, c.jpg in order
    assert means[0] == pytest.approx(50, abs=3) and means[1] == pytest.approx(7, abs=3)
    assert means[2] == pytest.approx(200, abs=3)
    assert packed['data_samples'].gt_label.item() == 2
    assert packed['data_samples'].triplet_type == 'one_class'


def test_fec_errors(tmp_path):
    _write(tmp_path, ROWS, agreement=False, skip=('e.jpg', ))
    with pytest.raises(FileNotFoundError, match='e.jpg'):
        FEC(str(tmp_path), split='test')
    ds = FEC(str(tmp_path), split='test', skip_missing=True)
    assert len(ds) == 2 and ds.get_data_info(0)['agreement'] == 1.0
    bad = tmp_path / 'bad'
    _write(bad, [('a.jpg', 'b.jpg', 'c.jpg', 4, 'ONE_CLASS_TRIPLET', 1.0)])
    with pytest.raises(ValueError, match=r'test.csv:2: odd_one_out'):
        FEC(str(bad), split='test')
