# Copyright (c) mmfer contributors. All rights reserved.
"""DISFA / BP4D / GFT converters run as scripts on label files written in the released formats."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mmfer.datasets.au_list import read_au_list


def _bp4d_module(repo_root):
    spec = importlib.util.spec_from_file_location(
        'bp4d_converter', os.path.join(repo_root, 'tools/dataset_converters/bp4d.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_writer_roundtrip_and_folds(tmp_path, repo_root):
    bp4d = _bp4d_module(repo_root)
    labels = np.array([[1, 0, -1], [0, 0, 1]], dtype=np.int8)
    bp4d.write_au_list(str(tmp_path / 'w.txt'), ['AU1', 'AU2', 'AU4'], ['a.jpg', 'b c.jpg'],
                       labels)
    assert (tmp_path / 'w.txt').read_text().splitlines()[1] == 'a.jpg 1 0 9'
    names, paths, lab = read_au_list(str(tmp_path / 'w.txt'))
    assert names == ['AU1', 'AU2', 'AU4'] and paths == ['a.jpg', 'b c.jpg']
    np.testing.assert_array_equal(lab, labels)
    folds = bp4d.subject_folds(['s3', 's1', 's2', 's5', 's4', 's1'], 3)
    assert folds == [['s1', 's2'], ['s3', 's4'], ['s5']]
    with pytest.raises(ValueError, match='at least 3 subjects'):
        bp4d.subject_folds(['a', 'b'], 3)


def _run(repo_root, script, *args):
    proc = subprocess.run([sys.executable, f'tools/dataset_converters/{script}', *map(str, args)],
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    return proc


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


def test_disfa(tmp_path, repo_root):
    root = tmp_path / 'ActionUnit_Labels'
    rng = np.random.RandomState(0)
    truth = {}
    for s in ['SN001', 'SN002', 'SN003', 'SN004']:
        (root / s).mkdir(parents=True)
        for au in (1, 2, 4):
            n = 6 if not (s == 'SN003' and au == 4) else 5  # SN003 AU4 lacks frame 6
            inten = rng.randint(0, 6, size=n)
            inten[:3] = [0, 1, 2]  # boundary: 1 -> negative, 2 -> positive
            (root / s / f'{s}_au{au}.txt').write_text(
                ''.join(f'{f + 1},{v}\n' for f, v in enumerate(inten)))
            for f, v in enumerate(inten):
                truth[(s, f + 1, f'AU{au}')] = int(v > 1)
    img_root = tmp_path / 'imgs'
    for s in ['SN001', 'SN002', 'SN003', 'SN004']:
        (img_root / s).mkdir(parents=True)
        for f in range(1, 7):
            if (s, f) != ('SN002', 5):  # one missing image
                (img_root / s / f'{f:05d}.jpg').write_bytes(b'x')
    out = tmp_path / 'lists'
    proc = _run(repo_root, 'disfa.py', root, out, '--img-root', img_root)
    assert proc.returncode == 0, proc.stderr
    assert '23 frames' in proc.stdout
    assert '1 (frame, AU) labels missing' in proc.stdout
    assert '1 frames skipped for a missing image' in proc.stdout
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
    proc = _run(repo_root, 'disfa.py', bad, tmp_path / 'o2')
    assert proc.returncode != 0 and 'SN001_au1.txt:2' in proc.stderr


def test_bp4d(tmp_path, repo_root):
    root = tmp_path / 'AUCoding'
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
    out = tmp_path / 'lists'
    proc = _run(repo_root, 'bp4d.py', root, out, '--aus', 1, 4, 6)
    assert proc.returncode == 0, proc.stderr
    names, paths, labels = read_au_list(str(out / 'all.txt'))
    assert names == ['AU1', 'AU4', 'AU6'] and len(paths) == 18
    for p, row in zip(paths, labels):
        exp = [rows_written[p][i] for i in (0, 2, 3)]
        assert row.tolist() == [-1 if v == 9 else v for v in exp]
    info = _check_folds(out, ['F001', 'F002', 'M001'], lambda p: p.split('/')[0])
    assert info['counts']['fold1_test.txt'] == 6

    (root / 'F003_T1.csv').write_text('Frame,1,2,4,6\n1,0,1,3,0\n')
    proc = _run(repo_root, 'bp4d.py', root, tmp_path / 'o2')
    assert proc.returncode != 0 and 'F003_T1.csv:2' in proc.stderr and '[3]' in proc.stderr


def test_gft(tmp_path, repo_root):
    root = tmp_path / 'labels'
    root.mkdir()
    for g in ['001', '002', '003']:
        for p in 'AB':
            (root / f'{g}{p}.csv').write_text(
                'Frame,AU1,AU2\n1,1,0\n2,,1\n3,-1,9\n')
    out = tmp_path / 'lists'
    proc = _run(repo_root, 'gft.py', root, out, '--subject-regex', r'^(\d+)')
    assert proc.returncode == 0, proc.stderr
    names, paths, labels = read_au_list(str(out / 'all.txt'))
    assert names == ['AU1', 'AU2'] and len(paths) == 18
    assert labels[paths.index('001A/00001.jpg')].tolist() == [1, 0]
    assert labels[paths.index('001A/00002.jpg')].tolist() == [-1, 1]
    assert labels[paths.index('002B/00003.jpg')].tolist() == [-1, -1]
    # groups kept together: subject = the group number
    _check_folds(out, ['001', '002', '003'], lambda p: p[:3])
    os.remove(root / '003B.csv')
    (root / '003B.csv').write_text('Frame,AU1\n1,1\n')
    proc = _run(repo_root, 'gft.py', root, tmp_path / 'o2')
    assert proc.returncode != 0 and 'differ' in proc.stderr


@pytest.mark.parametrize('script', ['disfa.py', 'bp4d.py', 'gft.py'])
def test_missing_folder(tmp_path, repo_root, script):
    proc = _run(repo_root, script, tmp_path / 'nope', tmp_path / 'out')
    assert proc.returncode != 0 and 'does not exist' in proc.stderr
