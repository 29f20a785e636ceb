# Copyright (c) mmfer contributors. All rights reserved.
"""mmfer.utils.threads: torch threads from the CPUs, the workers and the overrides."""
import os

import pytest
import torch
from mmengine.config import Config

from mmfer.utils import available_cpus, choose_num_threads, setup_torch_threads
from mmfer.utils.threads import resolve_num_threads


def test_available_cpus_is_the_affinity_mask():
    assert available_cpus() == len(os.sched_getaffinity(0)) >= 1


@pytest.mark.parametrize('workers, cpus, procs, load, expected', [
    (0, 2, 1, None, 2), (1, 2, 1, None, 1), (2, 2, 1, None, 1), (4, 2, 1, None, 1),
    (2, 16, 1, None, 14), (4, 64, 8, None, 4), (0, 64, 8, None, 8),   # per torchrun process
    # other jobs' load: no more threads than idle CPUs (the measured 2.4-28x slow-down)
    (0, 2, 1, 0.2, 2), (0, 2, 1, 0.6, 1), (0, 2, 1, 6.5, 1), (2, 16, 1, 4.0, 12),
    (2, 16, 1, 10.0, 6), (0, 64, 8, 32.0, 4),
])
def test_choose_num_threads(workers, cpus, procs, load, expected):
    assert choose_num_threads(workers, cpus, procs, load) == expected


def test_resolve_precedence_and_errors():
    assert resolve_num_threads(2, cpus=8, env={}, load=None)[0] == 6
    n, why = resolve_num_threads(2, cpus=8, env={}, load=5.0)
    assert n == 3 and '8 CPUs - 2 dataloader workers, load average 5.0' in why
    n, why = resolve_num_threads(2, cpus=8, env={'OMP_NUM_THREADS': '3'})
    assert (n, why) == (3, 'from OMP_NUM_THREADS')
    assert resolve_num_threads(2, threads=5, cpus=8, env={'OMP_NUM_THREADS': '3'})[0] == 5
    n, why = resolve_num_threads(1, cpus=8, env={'LOCAL_WORLD_SIZE': '2'}, load=None)
    assert n == 3 and '8 CPUs / 2 processes - 1 dataloader workers' in why
    assert resolve_num_threads(0, cpus=4, env={'OMP_NUM_THREADS': ' '},
                               load=None)[0] == 4                            # blank: auto
    with pytest.raises(ValueError, match="OMP_NUM_THREADS must be a positive integer, got '0'"):
        resolve_num_threads(0, env={'OMP_NUM_THREADS': '0'})
    with pytest.raises(ValueError, match='env_cfg.torch_threads must be a positive integer'):
        resolve_num_threads(0, threads='two', env={})
    with pytest.raises(ValueError, match='num_workers >= 0'):
        choose_num_threads(-1, 2)


def test_setup_torch_threads_reads_the_config(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.delenv('LOCAL_WORLD_SIZE', raising=False)
    monkeypatch.setattr(os, 'getloadavg', lambda: (0.0, 0.0, 0.0))   # a quiet machine
    try:
        cfg = Config(dict(train_dataloader=dict(num_workers=1)))
        assert setup_torch_threads(cfg) == max(1, available_cpus() - 1) == \
            torch.get_num_threads()
        cfg = Config(dict(train_dataloader=dict(num_workers=1), env_cfg=dict(torch_threads=3)))
        assert setup_torch_threads(cfg) == 3 == torch.get_num_threads()
        monkeypatch.setenv('OMP_NUM_THREADS', '2')
        assert setup_torch_threads(Config(dict(train_dataloader=dict(num_workers=0)))) == 2
        assert setup_torch_threads(num_workers=0, threads=1) == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
