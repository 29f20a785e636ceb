# Copyright (c) mmfer contributors. All rights reserved.
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmfer.datasets import FEC


def test_fec_converter_majority_vote_and_skips(tmp_path, repo_root):
    raw = tmp_path / 'raw'
    raw.mkdir()
    for i in range(5):
        img = np.zeros((60, 80, 3), np.uint8)
        img[15:45, 20:60] = 40 * i + 30  # face region of box (0.25, 0.75, 0.25, 0.75)
        cv2.imwrite(str(raw / f'p{i}.jpg'), img)
    (raw / 'broken.jpg').write_bytes(b'not a jpeg')
    box = '0.25,0.75,0.25,0.75'

    def row(a, b, c, ttype, votes):
        pairs = ','.join(f'{1000 + k},{v}' for k, v in enumerate(votes))
        return (f'http://farm1.staticflickr.com/1/{a}.jpg,{box},'
                f'http://farm1.staticflickr.com/1/{b}.jpg,{box},'
                f'http://farm1.staticflickr.com/1/{c}.jpg,{box},{ttype},{pairs}')

    lines = [row('p0', 'p1', 'p2', 'ONE_CLASS_TRIPLET', [3, 3, 1, 3, 2, 3]),   # odd 3, 4/6
             row('p1', 'p3', 'p4', 'TWO_CLASS_TRIPLET', [1, 2, 1, 2]),         # tie: skipped
             row('p2', 'p3', 'missing', 'ONE_CLASS_TRIPLET', [1, 1, 1]),       # missing
             row('p4', 'broken', 'p0', 'THREE_CLASS_TRIPLET', [2, 2, 2]),      # unreadable
             row('p3', 'p0', 'p4', 'THREE_CLASS_TRIPLET', [2, 2, 1])]          # odd 2, 2/3
    (tmp_path / 'fec.csv').write_text('\n'.join(lines) + '\n')
    out = tmp_path / 'fec'
    proc = subprocess.run([sys.executable, 'tools/dataset_converters/fec.py',
                           str(tmp_path / 'fec.csv'), str(raw), str(out), '--split', 'test',
                           '--size', '16', '--no-progress'],
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / 'annotations' / 'test_summary.json').read_text())
    assert summary['rows'] == 5 and summary['kept'] == 2
    assert summary['skipped'] == {'no majority (tie or no votes)': 1, 'missing image': 1,
                                  'unreadable image': 1}
    ds = FEC(str(out), split='test')
    assert len(ds) == 2
    assert ds.get_gt_labels().tolist() == [2, 1]
    assert [ds.get_data_info(i)['triplet_type'] for i in range(2)] == ['one_class',
                                                                       'three_class']
    assert ds.get_data_info(0)['agreement'] == pytest.approx(4 / 6, abs=1e-4)
    crop = cv2.imread(ds.get_data_info(0)['img_paths'][1])
    assert crop.shape == (16, 16, 3) and abs(int(crop.mean()) - 70) <= 3  # p1's face only
