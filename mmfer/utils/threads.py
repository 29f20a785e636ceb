# Copyright (c) mmfer contributors. All rights reserved.
"""How many intra-op threads torch uses in the training process, from the CPUs and workers.

PyTorch's default (one thread per physical core) ignores the dataloader workers, which also
need CPU time, and other processes. On a 2-core machine where other jobs kept the load average
at 6-10, 2 torch threads made a BYOL ResNet-18 step 2.4-28x slower than 1 thread, with 0, 1
or 2 workers (``benchmarks/bench_threads.py``; the OpenMP threads wait for each other when the
CPUs are taken). :func:`choose_num_threads` gives each worker a core and the model the rest,
but no more threads than the CPUs the other processes leave idle (the 1-minute load average at
start-up), and at least 1; per training process when several share the node (torchrun's
``LOCAL_WORLD_SIZE``).

Precedence in :func:`setup_torch_threads`: an explicit value (argument, or the config key
``env_cfg.torch_threads``), then ``OMP_NUM_THREADS`` from the environment, then the automatic
choice. ``tools/train.py`` calls :func:`setup_torch_threads` with the run's config.
"""
import math
import os
from typing import Mapping, Optional, Tuple

ENV_VAR = 'OMP_NUM_THREADS'


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a container's or taskset's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):           # not Linux
        return max(1, os.cpu_count() or 1)


def load_average() -> Optional[float]:
    """The 1-minute load average, or None where the OS has none."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


def choose_num_threads(num_workers: int, cpus: Optional[int] = None,
                       procs_per_node: int = 1, load: Optional[float] = None) -> int:
    """Torch threads of one training process.

    Args:
        num_workers (int): Dataloader worker processes of this training process.
        cpus (int, optional): CPUs available; default :func:`available_cpus`.
        procs_per_node (int): Training processes sharing these CPUs. Defaults to 1.
        load (float, optional): Runnable processes of *other* jobs (the load average before
            this run starts); None ignores the load.

    Returns:
        int: ``max(1, min(cpus // procs_per_node - num_workers, idle))`` where
        ``idle = round((cpus - load) / procs_per_node)`` (no cap without ``load``).
    """
    if num_workers < 0 or procs_per_node < 1:
        raise ValueError(f'need num_workers >= 0 and procs_per_node >= 1, got {num_workers}, '
                         f'{procs_per_node}')
    cpus = available_cpus() if cpus is None else int(cpus)
    n = cpus // procs_per_node - int(num_workers)
    if load is not None:
        n = min(n, math.floor((cpus - float(load)) / procs_per_node + 0.5))
    return max(1, n)


def _positive_int(value, what: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValueError(f'{what} must be a positive integer, got {value!r}') from None
    if n < 1:
        raise ValueError(f'{what} must be a positive integer, got {value!r}')
    return n


def resolve_num_threads(num_workers: int, threads: Optional[int] = None,
                        env: Optional[Mapping[str, str]] = None,
                        cpus: Optional[int] = None,
                        load: Optional[float] = -1.0) -> Tuple[int, str]:
    """The number of torch threads and why (a sentence for the log).

    Args:
        num_workers (int): Dataloader workers of this process.
        threads (int, optional): An explicit choice (wins).
        env (Mapping, optional): Environment; default ``os.environ`` (``OMP_NUM_THREADS``,
            ``LOCAL_WORLD_SIZE``).
        cpus (int, optional): CPUs available; default :func:`available_cpus`.
        load (float, optional): Load of other jobs; the default (-1) reads
            :func:`load_average`, None ignores the load.

    Returns:
        tuple: ``(threads, reason)``.

    Raises:
        ValueError: a non-positive or non-integer explicit value or ``OMP_NUM_THREADS``.
    """
    env = os.environ if env is None else env
    if threads is not None:
        return _positive_int(threads, 'env_cfg.torch_threads'), 'set explicitly'
    if env.get(ENV_VAR, '').strip():
        return _positive_int(env[ENV_VAR], ENV_VAR), f'from {ENV_VAR}'
    cpus = available_cpus() if cpus is None else int(cpus)
    procs = _positive_int(env.get('LOCAL_WORLD_SIZE', '1') or '1', 'LOCAL_WORLD_SIZE')
    if load is not None and load < 0:
        load = load_average()
    n = choose_num_threads(num_workers, cpus, procs, load)
    share = f'{cpus} CPUs' + (f' / {procs} processes' if procs > 1 else '')
    busy = '' if load is None else f', load average {load:.1f}'
    return n, (f'auto: {share} - {num_workers} dataloader workers{busy}; override with '
               f'{ENV_VAR} or env_cfg.torch_threads')


def setup_torch_threads(cfg=None, num_workers: Optional[int] = None,
                        threads: Optional[int] = None) -> int:
    """Set torch's intra-op threads for a training run and log the choice.

    Args:
        cfg (Config | dict, optional): The run's config: ``train_dataloader.num_workers`` and
            the optional ``env_cfg.torch_threads`` are read from it.
        num_workers (int, optional): Workers, when there is no config.
        threads (int, optional): Explicit number (wins over the config and the environment).

    Returns:
        int: The number of threads set.
    """
    import torch
    from mmengine.logging import print_log
    if cfg is not None:
        if num_workers is None:
            num_workers = int((cfg.get('train_dataloader') or {}).get('num_workers', 0) or 0)
        if threads is None:
            threads = (cfg.get('env_cfg') or {}).get('torch_threads')
    n, why = resolve_num_threads(num_workers or 0, threads)
    torch.set_num_threads(n)
    print_log(f'torch threads: {n} ({why})', logger='current')
    return n
