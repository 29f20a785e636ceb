# Copyright (c) mmfer contributors. All rights reserved.
"""Fixtures shared by the tests (``--import-mode=importlib``: test modules cannot import each
other, so everything shared lives here)."""
import os
import os.path as osp
import socket
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: A tiny supervised config (ImageClassifier, ResNet-18 with 8 base channels, class folders).
TINY_CLS_CONFIG = osp.join(REPO_ROOT, 'tests', 'data', 'configs', 'tiny_cls.py')

# Keep the 2-core CI machine responsive: one torch thread per test process.
os.environ.setdefault('OMP_NUM_THREADS', '1')


@pytest.fixture(autouse=True, scope='session')
def _mmfer_scope():
    """Every test runs with mmfer registered and the default scope set to 'mmfer'."""
    import torch
    torch.set_num_threads(1)
    from mmfer.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    yield


@pytest.fixture
def repo_root() -> str:
    return REPO_ROOT


@pytest.fixture
def python_exe() -> str:
    return sys.executable


@pytest.fixture
def tiny_cls_config() -> str:
    """Path of ``tests/data/configs/tiny_cls.py`` (tests set its data_root)."""
    return TINY_CLS_CONFIG


def _write_class_folders(root: str, per_class: int = 6, size: int = 32) -> str:
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    for c in range(2):
        os.makedirs(osp.join(root, f'class{c}'), exist_ok=True)
        for i in range(per_class):
            img = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            img[..., c] = 200  # a learnable colour cue
            cv2.imwrite(osp.join(root, f'class{c}', f'{i:03d}.png'), img)
    return root


@pytest.fixture
def write_class_folders():
    """``write(root, per_class=6, size=32) -> root``: two class folders of random PNGs with a
    learnable colour cue (the data of ``tiny_cls_config``)."""
    return _write_class_folders


@pytest.fixture
def free_port() -> int:
    """A free local TCP port (for torchrun's master)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='session')
def tiny_eval_data(tmp_path_factory):
    """Small evaluation sets: RAF-DB layout (42 train / 14 test faces of 8 people, 32 px, with
    the generator's meta.csv: identity per image) and FEC (8 triplets, 24 images)."""
    import cv2
    from mmfer.datasets.synthetic import SyntheticFaceGenerator
    from mmfer.datasets.synthetic.writers import write_rafdb
    root = tmp_path_factory.mktemp('eval_data')
    write_rafdb(str(root / 'rafdb'), num_train=42, num_test=14, image_size=32, seed=0,
                num_identities=8)
    gen = SyntheticFaceGenerator(32, seed=1)
    fec = root / 'fec'
    (fec / 'images').mkdir(parents=True)
    (fec / 'annotations').mkdir()
    rows = ['image1,image2,image3,odd_one_out,triplet_type']
    exprs = ['happiness', 'sadness', 'surprise', 'anger']
    for t in range(8):
        same, other = exprs[t % 4], exprs[(t + 1) % 4]
        odd = t % 3
        names = []
        for j in range(3):
            face = gen.render(identity=t + j, expression=other if j == odd else same,
                              seed=100 * t + j)
            names.append(f't{t}_{j}.jpg')
            cv2.imwrite(str(fec / 'images' / names[-1]), face['img'])
        rows.append(','.join(names + [str(odd + 1), 'TWO_CLASS_TRIPLET']))
    (fec / 'annotations' / 'test.csv').write_text('\n'.join(rows) + '\n')
    return root


@pytest.fixture
def frozen_eval_config(tiny_eval_data, tmp_path):
    """``make(name='knn', **extra)``: a small frozen-feature config file on ``tiny_eval_data``.

    ``'knn'``: configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb.py (ResNet-18 with BN,
    32 px, no workers, k = 3 and 10, 20 L-BFGS iterations); ``'fec'``: resnet18_fec.py.
    (``serialize_data=False``: mmengine's serialisation runs ``gc.collect()``, seconds in a
    long test session.)
    ``extra`` are more config lines (Python source).
    """
    def make(name: str = 'knn', extra: str = '') -> str:
        pipe = ("[dict(type='LoadFaceImage'), dict(type='Resize', scale=(32, 32)), "
                "dict(type='PackInputs')]")
        loader = "batch_size=16, num_workers=0, persistent_workers=False"
        if name == 'knn':
            base = osp.join(REPO_ROOT, 'configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb.py')
            rafdb = str(tiny_eval_data / 'rafdb')
            body = f"""
test_dataloader = dict({loader}, dataset=dict(data_root={rafdb!r}, pipeline={pipe},
                                               serialize_data=False))
test_cfg = dict(bank_dataloader=dict({loader}, dataset=dict(
    data_root={rafdb!r}, pipeline={pipe}, serialize_data=False)))
test_evaluator = [dict(type='KNNAccuracy', topk=(3, 10)),
                  dict(type='LinearProbe', epochs=20)]
"""
        else:
            base = osp.join(REPO_ROOT, 'configs/contrawarp/benchmarks/resnet18_fec.py')
            fec = str(tiny_eval_data / 'fec')
            body = f"""
test_dataloader = dict({loader}, dataset=dict(source=dict(data_root={fec!r}),
                                               pipeline={pipe}, serialize_data=False))
"""
        path = tmp_path / f'{name}_tiny.py'
        path.write_text(f"_base_ = [{base!r}]\nmodel = dict(backbone=dict(norm_cfg=dict("
                        f"type='BN')))\n{body}\n{extra}\n")
        return str(path)

    return make


@pytest.fixture(scope='session')
def ssl_study_tiny_data(tmp_path_factory):
    """The SSL study's data at its ``tiny`` preset (mmfer.apis.ssl_study.prepare_data):
    ``dict(root, roots={pretrain, videos, rafdb}, identities, commands)``."""
    from mmfer.apis.ssl_study import PRESETS, prepare_data
    root = str(tmp_path_factory.mktemp('ssl_study') / 'data')
    out = prepare_data(PRESETS['tiny'], root, log=lambda msg: None)
    return dict(out, root=root)
