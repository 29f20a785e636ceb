# Copyright (c) mmfer contributors. All rights reserved.
"""tools/misc/fr_knn_lfw.py on a synthetic LFW tree (3 people x 5 faces + one with 2) and pairs."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from mmfer.evaluation import knn_accuracy, pool_features
from mmfer.evaluation.lfw import read_pairs, scan_lfw, split_people
from mmfer.registry import MODELS

NAMES = ['Ann_A', 'Bob_B', 'Cid_C', 'Dee_D']


@pytest.fixture
def lfw(tmp_path):
    from mmfer.datasets.synthetic import SyntheticFaceGenerator
    gen = SyntheticFaceGenerator(image_size=50, seed=0)
    root = tmp_path / 'lfw'
    for p, name in enumerate(NAMES):
        (root / name).mkdir(parents=True)
        for i in range(5 if p < 3 else 2):  # Dee_D has too few faces: not in the k-NN
            face = gen.render(identity=p, expression='neutral', seed=i)
            cv2.imwrite(str(root / name / f'{name}_{i + 1:04d}.jpg'), face['img'])
    (tmp_path / 'pairs.txt').write_text(
        '1 2\nAnn_A 1 2\nBob_B 3 4\nAnn_A 1 Bob_B 1\nCid_C 2 Dee_D 1\n')
    return root


def test_lfw_protocol_helpers(lfw, tmp_path):
    people = scan_lfw(str(lfw))
    assert sorted(people) == NAMES and len(people['Dee_D']) == 2
    split = split_people(people, 5, 0.25, seed=0)
    assert split == split_people(people, 5, 0.25, seed=0)
    assert split[4] == NAMES[:3] and sorted(split[3]) == [0, 1, 2]
    assert not set(split[0]) & set(split[2])
    pairs = read_pairs(str(tmp_path / 'pairs.txt'), str(lfw))
    assert [p[2] for p in pairs] == [True, True, False, False]
    assert pairs[2][1].endswith('Bob_B/Bob_B_0001.jpg')
    with pytest.raises(ValueError, match='only 0 people have >= 9 images'):
        split_people(people, 9, 0.25, 0)
    (tmp_path / 'bad.txt').write_text('1 2\nAnn_A 1\n')
    with pytest.raises(ValueError, match='bad.txt:2: expected'):
        read_pairs(str(tmp_path / 'bad.txt'), str(lfw))


@pytest.mark.slow
def test_fr_knn_lfw_tool(lfw, tmp_path, repo_root):
    """The CLI end to end (slow: a subprocess that builds the SSL-FER config, ~30 s)."""
    cfg = os.path.join(repo_root, 'configs/sslfer/sslfer_resnet18_4xb64-adam-coslr-210e_voxceleb_'
                       'f-timeaug-hardneg-faceswap-maskfn.py')
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='ResNet', depth=18, norm_cfg=dict(type='BN')))
    backbone.eval()
    ckpt = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in backbone.state_dict().items()}},
               ckpt)
    out = tmp_path / 'metrics.json'
    proc = subprocess.run(
        [sys.executable, 'tools/misc/fr_knn_lfw.py', cfg, str(ckpt), '--lfw-root', str(lfw),
         '--pairs', str(tmp_path / 'pairs.txt'), '--min-faces', '5', '--k', '1', '3', '50',
         '--img-size', '32', '--num-workers', '0', '--out', str(out)],
        cwd=repo_root, capture_output=True, text=True, timeout=400,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())
    # 3 people kept; round(0.25 * 5) = 1 test image each; k = 50 > 12: the 12 used
    assert (res['num_identities'], res['num_train'], res['num_test']) == (3, 12, 3)
    assert set(k for k in res if k.startswith('knn_top1')) == {
        'knn_top1/k1', 'knn_top1/k3', 'knn_top1/k12'}
    assert res['num_pairs'] == 4 and 0 <= res['verification_acc'] <= 100
    # k-NN numbers from features computed here: scikit-learn's crop box on the 50 px images
    # (scaled from 250 px), area resize to 32 px, the config's normalisation
    tr, trl, te, tel, _ = split_people(scan_lfw(str(lfw)), 5, 0.25, seed=0)

    def feats(paths):
        crops = []
        for p in paths:
            img = cv2.imread(p)[14:39, 16:34]  # y 70..195, x 78..172 at 50/250
            crops.append(cv2.resize(img, (32, 32), interpolation=cv2.INTER_AREA))
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().flip(1)
        x = (x - torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)) / \
            torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
        with torch.no_grad():
            return pool_features(backbone(x))

    ref = knn_accuracy(feats(tr), trl, feats(te), tel, (1, 3), num_classes=3)
    assert res['knn_top1/k1'] == pytest.approx(100 * ref[1]['accuracy'])
    assert res['knn_top1/k3'] == pytest.approx(100 * ref[3]['accuracy'])
