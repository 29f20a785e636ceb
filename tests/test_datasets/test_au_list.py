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


# ----------------------------------------------------------------------------- writers
def test_writer_roundtrip_and_subject_folds(tmp_path):
    from mmfer.datasets.au_list import subject_folds, write_au_list
    labels = np.array([[1, 0, -1], [0, 0, 1]], dtype=np.int8)
    write_au_list(str(tmp_path / 'w.txt'), ['AU1', 'AU2', 'AU4'], ['a.jpg', 'b c.jpg'], labels)
    assert (tmp_path / 'w.txt').read_text().splitlines()[1] == 'a.jpg 1 0 9'
    names, paths, lab = read_au_list(str(tmp_path / 'w.txt'))
    assert names == ['AU1', 'AU2', 'AU4'] and paths == ['a.jpg', 'b c.jpg']
    np.testing.assert_array_equal(lab, labels)
    folds = subject_folds(['s3', 's1', 's2', 's5', 's4', 's1'], 3)
    assert folds == [['s1', 's2'], ['s3', 's4'], ['s5']]
    with pytest.raises(ValueError, match='at least 3 subjects'):
        subject_folds(['a', 'b'], 3)


def _records():
    rng = np.random.default_rng(0)
    return [(s, f'{s}/{i}.jpg', rng.choice([-1, 0, 1], 2).astype(np.int8))
            for s in ('A', 'B', 'C', 'D') for i in range(3)]


def test_write_au_splits_is_subject_wise(tmp_path):
    import json

    from mmfer.datasets.au_list import write_au_splits
    recs = _records()
    info = write_au_splits(str(tmp_path), ['AU1', 'AU2'], recs, num_folds=2)
    assert info['folds'] == [['A', 'B'], ['C', 'D']]
    assert json.loads((tmp_path / 'folds.json').read_text())['counts'] == info['counts']
    _, test_paths, test_lab = read_au_list(str(tmp_path / 'fold1_test.txt'))
    _, train_paths, _ = read_au_list(str(tmp_path / 'fold1_train.txt'))
    assert {p[0] for p in test_paths} == {'A', 'B'} and {p[0] for p in train_paths} == {'C', 'D'}
    np.testing.assert_array_equal(test_lab, np.stack([r[2] for r in recs[:6]]))
    with pytest.raises(ValueError, match=r"subjects \['D'\] are in no fold"):
        write_au_splits(str(tmp_path), ['AU1', 'AU2'], recs, folds=[['A', 'B'], ['C']])


def test_official_split(tmp_path):
    from mmfer.datasets.au_list import read_split_file, write_official_split
    (tmp_path / 'split.txt').write_text('# official\nA train\nB train  # comment\nC test\n')
    split = read_split_file(str(tmp_path / 'split.txt'))
    assert split == {'A': 'train', 'B': 'train', 'C': 'test'}
    recs = [(r[0], r) for r in _records()]
    info = write_official_split(str(tmp_path), ['AU1', 'AU2'], recs, split)
    assert info['counts'] == {'official_train.txt': 6, 'official_test.txt': 3}
    assert info['unlisted'] == ['D']
    _, paths, _ = read_au_list(str(tmp_path / 'official_test.txt'))
    assert paths == ['C/0.jpg', 'C/1.jpg', 'C/2.jpg']
    for text, match in [('A val\n', r'split.txt:1: expected'), ('A train\nA test\n',
                                                                 'split.txt:2: A listed twice'),
                        ('# nothing\n', 'no "<name> train|test" lines')]:
        (tmp_path / 'split.txt').write_text(text)
        with pytest.raises(ValueError, match=match):
            read_split_file(str(tmp_path / 'split.txt'))
    with pytest.raises(ValueError, match='no frame belongs to the test set'):
        write_official_split(str(tmp_path), ['AU1', 'AU2'], recs, {'A': 'train'})

