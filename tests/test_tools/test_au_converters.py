# Copyright (c) mmfer contributors. All rights reserved.
"""The AU converter command lines, thin CLIs over mmfer.datasets.au_converters (whose logic is
tested in tests/test_datasets/test_au_converters.py): one run each, checking what they print,
what they write and that an error exits non-zero naming the file and line."""
import subprocess
import sys

from mmfer.datasets.au_list import read_au_list


def _run(repo_root, script, *args):
    return subprocess.run([sys.executable, f'tools/dataset_converters/{script}',
                           *map(str, args)], cwd=repo_root, capture_output=True, text=True,
                          timeout=300)


def test_disfa_cli(tmp_path, repo_root):
    root = tmp_path / 'ActionUnit_Labels'
    for s in ('SN001', 'SN002', 'SN003'):
        (root / s).mkdir(parents=True)
        for au in (1, 2):
            (root / s / f'{s}_au{au}.txt').write_text('1,0\n2,2\n3,1\n')
    (root / 'SN003' / 'SN003_au2.txt').write_text('1,0\n2,2\n')  # frame 3 of AU2 missing
    proc = _run(repo_root, 'disfa.py', root, tmp_path / 'lists')
    assert proc.returncode == 0, proc.stderr
    assert 'DISFA: 9 frames, AUs AU1 AU2; 1 (frame, AU) labels missing' in proc.stdout
    assert 'fold1: test subjects SN001 (3 test / 6 train frames)' in proc.stdout
    _, paths, labels = read_au_list(str(tmp_path / 'lists' / 'all.txt'))
    assert labels[paths.index('SN003/00003.jpg')].tolist() == [0, -1]


def test_bp4d_cli_error_names_file_and_line(tmp_path, repo_root):
    root = tmp_path / 'AUCoding'
    root.mkdir()
    (root / 'F001_T1.csv').write_text('Frame,1,2\n1,0,1\n2,0,3\n')
    proc = _run(repo_root, 'bp4d.py', root, tmp_path / 'lists')
    assert proc.returncode != 0 and 'F001_T1.csv:3' in proc.stderr and '[3]' in proc.stderr


def test_gft_cli_official_split(tmp_path, repo_root):
    root = tmp_path / 'labels'
    root.mkdir()
    for v in ('001A', '002A', '003A', '004A'):
        (root / f'{v}.csv').write_text('Frame,AU1,AU2\n1,1,0\n2,,1\n')
    (tmp_path / 'split.txt').write_text('001A train\n002A train\n003A test\n')
    proc = _run(repo_root, 'gft.py', root, tmp_path / 'lists', '--official-split',
                tmp_path / 'split.txt')
    assert proc.returncode == 0, proc.stderr
    assert 'GFT: 4 label files, 8 frames' in proc.stdout
    assert 'official split: 4 train / 2 test frames' in proc.stdout
    assert '1 videos not in the split file, left out: 004A' in proc.stdout
    _, paths, _ = read_au_list(str(tmp_path / 'lists' / 'official_test.txt'))
    assert paths == ['003A/00001.jpg', '003A/00002.jpg']
