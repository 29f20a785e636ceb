# Copyright (c) mmfer contributors. All rights reserved.
"""Files mmfer writes get the mode ``open()`` / ``torch.save`` would give them
(``0o666 & ~umask``): teammates on a shared cluster can read checkpoints, landmark files and
their part files (``tempfile.mkstemp`` alone made them 0600)."""
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from mmfer.apis import LandmarkFileWriter
from mmfer.datasets import save_landmarks
from mmfer.registry import RUNNERS


@pytest.fixture
def umask():
    """``set(mask)`` sets the process umask for the test; the old one is restored after."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def mode(path) -> str:
    return oct(os.stat(path).st_mode & 0o777)


@pytest.mark.parametrize('mask', [0o022, 0o027])
def test_landmark_and_part_files_respect_the_umask(tmp_path, umask, mask):
    umask(mask)
    out = str(tmp_path / 'landmarks.npz')
    save_landmarks(out, ['a.jpg'], np.zeros((1, 68, 2), np.float32))
    assert mode(out) == oct(0o666 & ~mask)
    part_out = str(tmp_path / 'extract' / 'lm.npz')
    writer = LandmarkFileWriter(part_out, rank=0)
    writer.add('b.jpg', np.zeros((68, 2)), np.ones(68))
    writer.flush()
    assert mode(writer.part) == oct(0o666 & ~mask)
    writer.merge()
    assert mode(part_out) == oct(0o666 & ~mask)
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.tmp')]


def test_training_checkpoints_respect_the_umask(tmp_path, umask, tiny_cls_config,
                                                write_class_folders):
    umask(0o027)
    data = write_class_folders(str(tmp_path / 'data'))
    cfg = Config.fromfile(tiny_cls_config)
    cfg.train_dataloader.dataset.data_root = data
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.max_iters = 2
    cfg.default_hooks.checkpoint.interval = 2
    RUNNERS.build(cfg).train()
    assert mode(osp.join(cfg.work_dir, 'iter_2.pth')) == oct(0o640)
