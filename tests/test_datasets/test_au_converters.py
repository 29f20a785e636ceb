# Copyright (c) mmfer contributors. All rights reserved.
"""DISFA / BP4D / GFT label readers (mmfer.datasets.au_converters) on label files written in
the released formats. The command lines over them: tests/test_tools/test_au_converters.py."""
import json

import numpy as np
import pytest

from mmfer.datasets.au_converters import (convert_bp4d, convert_disfa, convert_gft,
                                          read_au_occurrence_csv)
from mmfer.datasets.au_list import read_au_list


def _check_folds(out, subjects, subject_of):
    info = json.loads((out / 'folds.json').read_text())
    folds = info['folds']
    assert sorted(s for f in folds for s in f) == sorted(subjects)
    _, all_paths, _ = read_au_list(str(out / 'all.txt'))
    for k, test_subjects in enumerate(folds, start=1):
        _, test_paths, _ = read_au_list(str(out / f'fold{k}_test.txt'))
        _, train_paths, _ = read_au_list(str(out / f'fold{k}_train.txt'))
        assert {subject_of(p) for p in test_paths} == set(test_subjects)
        assert not {subject_of(p) for p in train_paths} & set(test_subjects)
        assert sorted(test_paths + train_paths) == sorted(all_paths)
    return info


def write_disfa(root, img_root=None):
    """4 subjects x 3 AUs x 6 frames; SN003 AU4 lacks frame 6; image SN002/5 missing."""
    rng = np.random.RandomState(0)
    truth = {}
    for s in ['SN001', 'SN002', 'SN003', 'SN004']:
        (root / s).mkdir(parents=True)
        for au in (1, 2, 4):
            n = 6 if not (s == 'SN003' and au == 4) else 5
            inten = rng.randint(0, 6, size=n)
            inten[:3] = [0, 1, 2]  # boundary: 1 -> negative, 2 -> positive
            (root / s / f'{s}_au{au}.txt').write_text(
                ''.join(f'{f + 1},{v}\n' for f, v in enumerate(inten)))
            for f, v in enumerate(inten):
                truth[(s, f + 1, f'AU{au}')] = int(v > 1)
    if img_root is not None:
        for s in ['SN001', 'SN002', 'SN003', 'SN004']:
            (img_root / s).mkdir(parents=True)
            for f in range(1, 7):
                if (s, f) != ('SN002', 5):
                    (img_root / s / f'{f:05d}.jpg').write_bytes(b'x')
    return truth


def test_disfa(tmp_path):
    root = tmp_path / 'ActionUnit_Labels'
    truth = write_disfa(root, tmp_path / 'imgs')
    out = tmp_path / 'lists'
    info = convert_disfa(str(root), str(out), img_root=str(tmp_path / 'imgs'))
    assert info['counts']['all.txt'] == 23
    assert (info['missing_labels'], info['missing_images']) == (1, 1)
    names, paths, labels = read_au_list(str(out / 'all.txt'))
    assert names == ['AU1', 'AU2', 'AU4'] and len(paths) == 23
    for p, row in zip(paths, labels):
        s, f = p.split('/')[0], int(p.split('/')[1][:5])
        for au, v in zip(names, row):
            assert v == truth.get((s, f, au), -1)
    assert labels[paths.index('SN003/00006.jpg')].tolist() == [
        truth[('SN003', 6, 'AU1')], truth[('SN003', 6, 'AU2')], -1]
    _check_folds(out, ['SN001', 'SN002', 'SN003', 'SN004'], lambda p: p.split('/')[0])

    bad = tmp_path / 'bad'
    (bad / 'SN001').mkdir(parents=True)
    (bad / 'SN001' / 'SN001_au1.txt').write_text('1,0\n2;3\n')
    with pytest.raises(ValueError, match='SN001_au1.txt:2'):
        convert_disfa(str(bad), str(tmp_path / 'o2'))
    (bad / 'SN001' / 'SN001_au1.txt').write_text('1,6\n')
    with pytest.raises(ValueError, match='SN001_au1.txt:1: intensity 6.0 outside 0..5'):
        convert_disfa(str(bad), str(tmp_path / 'o2'))


def write_bp4d(root):
    root.mkdir()
    rows_written = {}
    for s in ['F001', 'F002', 'M001']:
        for t in ['T1', 'T2']:
            lines = ['Frame,1,2,4,6']
            for f in (10, 11, 12):
                vals = [(f + i + len(s + t)) % 3 for i in range(4)]
                vals = [9 if v == 2 else v for v in vals]
                lines.append(f'{f},' + ','.join(map(str, vals)))
                rows_written[f'{s}/{t}/{f}.jpg'] = vals
            (root / f'{s}_{t}.csv').write_text('\n'.join(lines) + '\n')
    return rows_written


def test_bp4d(tmp_path):
    root = tmp_path / 'AUCoding'
    rows_written = write_bp4d(root)
    out = tmp_path / 'lists'
    convert_bp4d(str(root), str(out), aus=[1, 4, 6])
    names, paths, labels = read_au_list(str(out / 'all.txt'))
    assert names == ['AU1', 'AU4', 'AU6'] and len(paths) == 18
    for p, row in zip(paths, labels):
        exp = [rows_written[p][i] for i in (0, 2, 3)]
        assert row.tolist() == [-1 if v == 9 else v for v in exp]
    info = _check_folds(out, ['F001', 'F002', 'M001'], lambda p: p.split('/')[0])
    assert info['counts']['fold1_test.txt'] == 6

    (root / 'F003_T1.csv').write_text('Frame,1,2,4,6\n1,0,1,3,0\n')
    with pytest.raises(ValueError, match=r'F003_T1.csv:2: values \[3\]'):
        convert_bp4d(str(root), str(tmp_path / 'o2'))
    (root / 'F003_T1.csv').write_text('Frame,1,2\n1,0,1\n')
    with pytest.raises(ValueError, match='differ from the first file'):
        convert_bp4d(str(root), str(tmp_path / 'o2'))


def write_gft(root):
    root.mkdir()
    for g in ['001', '002', '003']:
        for p in 'AB':
            (root / f'{g}{p}.csv').write_text('Frame,AU1,AU2\n1,1,0\n2,,1\n3,-1,9\n')


def test_gft_folds_and_official_split(tmp_path):
    root = tmp_path / 'labels'
    write_gft(root)
    out = tmp_path / 'lists'
    (tmp_path / 'split.txt').write_text('001A train\n001B train\n002A train\n002B test\n'
                                        '003A test\n')
    info = convert_gft(str(root), str(out), subject_regex=r'^(\d+)',
                       official_split=str(tmp_path / 'split.txt'))
    names, paths, labels = read_au_list(str(out / 'all.txt'))
    assert names == ['AU1', 'AU2'] and len(paths) == 18
    assert labels[paths.index('001A/00001.jpg')].tolist() == [1, 0]
    assert labels[paths.index('001A/00002.jpg')].tolist() == [-1, 1]
    assert labels[paths.index('002B/00003.jpg')].tolist() == [-1, -1]
    # groups kept together: subject = the group number
    _check_folds(out, ['001', '002', '003'], lambda p: p[:3])
    # the official split, beside the folds: 003B is in no part and is reported
    assert info['official']['counts'] == {'official_train.txt': 9, 'official_test.txt': 6}
    assert info['official']['unlisted'] == ['003B']
    _, train_paths, _ = read_au_list(str(out / 'official_train.txt'))
    _, test_paths, test_labels = read_au_list(str(out / 'official_test.txt'))
    assert {p.split('/')[0] for p in train_paths} == {'001A', '001B', '002A'}
    assert {p.split('/')[0] for p in test_paths} == {'002B', '003A'}
    assert test_labels[test_paths.index('002B/00001.jpg')].tolist() == [1, 0]

    (tmp_path / 'split.txt').write_text('009Z test\n001A train\n')
    with pytest.raises(ValueError, match=r"videos \['009Z'\] have no label file"):
        convert_gft(str(root), str(tmp_path / 'o2'),
                    official_split=str(tmp_path / 'split.txt'))
    (root / '003B.csv').write_text('Frame,AU1\n1,1\n')
    with pytest.raises(ValueError, match='differ'):
        convert_gft(str(root), str(tmp_path / 'o3'))


@pytest.mark.parametrize('convert', [convert_disfa, convert_bp4d, convert_gft])
def test_missing_folder(tmp_path, convert):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        convert(str(tmp_path / 'nope'), str(tmp_path / 'out'))


def test_read_au_occurrence_csv(tmp_path):
    p = tmp_path / 'F001_T1.csv'
    p.write_text('Frame,1,AU2,4\n10,1,0,9\n11,,1,-1\n\n12,0,0,1\n')
    numbers, rows = read_au_occurrence_csv(str(p))
    assert numbers == [1, 2, 4]
    assert rows == [(10, [1, 0, -1]), (11, [-1, 1, -1]), (12, [0, 0, 1])]
    numbers, rows = read_au_occurrence_csv(str(p), aus=[4, 1])
    assert numbers == [4, 1] and rows[0] == (10, [-1, 1])
    for text, match in [('Frame,1\n1,3\n', r'F001_T1.csv:2: values \[3\]'),
                        ('Frame,1\n1,0,0\n', 'F001_T1.csv:2: 3 fields'),
                        ('Time,1\n', 'F001_T1.csv:1: header must start with "Frame"'),
                        ('Frame,eye\n', "column 'eye' is not an AU number")]:
        p.write_text(text)
        with pytest.raises(ValueError, match=match):
            read_au_occurrence_csv(str(p))
    p.write_text('Frame,1,2\n1,0,0\n')
    with pytest.raises(ValueError, match=r'AUs \[4\] not in header'):
        read_au_occurrence_csv(str(p), aus=[4])
