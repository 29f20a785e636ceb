# Copyright (c) mmfer contributors. All rights reserved.
import cv2
import numpy as np
import pytest

from mmfer.datasets.au_list import AUListDataset, read_au_list
from mmfer.registry import DATASETS

LIST = """# AU list written by the test
path AU1 AU2 AU4 AU12
S1/0001.jpg 0 1 0 1
S1/0002.jpg 1 1 9 0
S2/my frame 3.jpg -1 0 0 1
S2/0004.jpg 9 9 -1 9
"""


def _write(tmp_path, text=LIST, name='list.txt'):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_parse_counts_and_masks(tmp_path):
    _write(tmp_path)
    ds = DATASETS.build(dict(type='AUListDataset', data_root=str(tmp_path),
                             ann_file='list.txt', data_prefix='imgs', pipeline=[]))
    assert len(ds) == 4
    assert ds.metainfo['classes'] == ('AU1', 'AU2', 'AU4', 'AU12')
    items = [ds.get_data_info(i) for i in range(4)]
    assert items[2]['img_path'].endswith('imgs/S2/my frame 3.jpg')
    np.testing.assert_array_equal(items[0]['gt_score'], [0, 1, 0, 1])
    np.testing.assert_array_equal(items[1]['gt_score'], [1, 1, -1, 0])
    np.testing.assert_array_equal(items[1]['au_mask'], [True, True, False, True])
    np.testing.assert_array_equal(items[2]['au_mask'], [False, True, True, True])
    np.testing.assert_array_equal(items[3]['au_mask'], [False] * 4)
    assert items[0]['gt_score'].dtype == np.float32
    assert ds.num_all_unknown == 1
    masks = np.stack([it['au_mask'] for it in items])
    assert masks.sum() == 16 - 6  # six unknown entries (9 or -1) in the file

    dropped = AUListDataset(ann_file=str(tmp_path / 'list.txt'), drop_all_unknown=True)
    assert len(dropped) == 3 and dropped.num_all_unknown == 1


def test_au_subset_in_requested_order(tmp_path):
    _write(tmp_path)
    ds = AUListDataset(ann_file=str(tmp_path / 'list.txt'), au_names=['AU12', 'AU1'])
    assert ds.metainfo['classes'] == ('AU12', 'AU1')
    np.testing.assert_array_equal(ds.get_data_info(1)['gt_score'], [0, 1])
    with pytest.raises(ValueError, match=r"AUs \['AU6'\] requested"):
        AUListDataset(ann_file=str(tmp_path / 'list.txt'), au_names=['AU6'])


@pytest.mark.parametrize('text,match', [
    ('S1/1.jpg 0 1\n', r'list.txt:1: the first line must be the header'),
    ('path AU1 AU2\nS1/1.jpg 0 2\n', r'list.txt:2: AU2 has value .2.'),
    ('path AU1 AU2\nS1/1.jpg 0\n', r'list.txt:2: expected a path and 2 AU values'),
    ('path AU1 AU2\nS1/1.jpg 0 1\nS1/1.jpg 1 1\n', r'list.txt:3: image S1/1.jpg already'),
    ('path AU1 AU1\n', r'duplicated AU names'),
    ('# only a comment\n', r'empty AU list'),
])
def test_bad_files_name_file_and_line(tmp_path, text, match):
    _write(tmp_path, text)
    with pytest.raises(ValueError, match=match):
        read_au_list(str(tmp_path / 'list.txt'))


def test_pipeline_packs_scores_for_the_au_metric(tmp_path):
    (tmp_path / 'imgs' / 'S1').mkdir(parents=True)
    for i in range(2):
        cv2.imwrite(str(tmp_path / 'imgs' / 'S1' / f'{i}.png'),
                    np.full((16, 16, 3), 40 * i, np.uint8))
    _write(tmp_path, 'path AU1 AU2\nS1/0.png 1 9\nS1/1.png 0 1\n')
    ds = DATASETS.build(dict(
        type='AUListDataset', data_root=str(tmp_path), ann_file='list.txt',
        data_prefix='imgs',
        pipeline=[dict(type='LoadFaceImage'),
                  dict(type='PackInputs', algorithm_keys=['au_mask'])]))
    out = ds[0]
    assert tuple(out['inputs'].shape) == (3, 16, 16)
    assert out['data_samples'].gt_score.tolist() == [1.0, -1.0]
    assert out['data_samples'].au_mask.tolist() == [True, False]
