# Copyright (c) mmfer contributors. All rights reserved.
import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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
