# Copyright (c) mmfer contributors. All rights reserved.
"""Launch helpers shared by ``tools/train.py`` and ``tools/test.py`` (:func:`prepare_launch`,
:func:`finish_launch`), and :func:`run_on_main_rank`.

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and wraps models with
``device_ids=[LOCAL_RANK]``; both fail on a machine without a GPU, and so does SyncBN.
:func:`prepare_launch` makes ``--launcher pytorch|slurm`` work on CPU (gloo backend,
:class:`~mmfer.models.utils.CPUDistributedDataParallel`: no ``device_ids``, SyncBN layers
reverted to BN) and picks NCCL when CUDA is present, so one config serves both.
"""
import os
from typing import Any, Callable, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist import broadcast_object_list, get_dist_info
from mmengine.logging import print_log


def _cuda_usable() -> bool:
    return torch.cuda.is_available() and torch.cuda.device_count() > 0


def prepare_launch(cfg: Config, launcher: str) -> Config:
    """Adapt ``cfg`` to the launcher and hardware, initialising CPU process groups.

    Args:
        cfg (Config): The merged config; ``cfg.launcher`` is set to ``launcher``.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        Config: the same config object, modified in place.
    """
    cfg.launcher = launcher
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if launcher == 'none':
        return cfg
    if _cuda_usable():
        dist_cfg.setdefault('backend', 'nccl')
        return cfg
    # CPU-only distributed run (tests, debugging, CPU clusters).
    if dist_cfg.get('backend', 'gloo') != 'gloo':
        print_log(f"No CUDA device: using the gloo backend instead of "
                  f"{dist_cfg.get('backend')!r}.", logger='current')
    dist_cfg['backend'] = 'gloo'
    if cfg.get('sync_bn', None) is not None:
        cfg.sync_bn = None
    print_log('No CUDA device: SyncBN layers run as per-process BN (CPUDistributedDataParallel).',
              logger='current')
    wrapper = cfg.get('model_wrapper_cfg', None) or dict(
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    if wrapper.get('type', 'MMDistributedDataParallel') != 'MMDistributedDataParallel':
        raise ValueError(f"model_wrapper_cfg.type={wrapper['type']!r} cannot run on CPU "
                         'process groups; remove it or run with CUDA')
    wrapper['type'] = 'mmfer.CPUDistributedDataParallel'  # looked up in mmengine's root
    cfg.model_wrapper_cfg = wrapper
    if not torch_dist.is_initialized():
        _init_cpu_process_group(launcher)
    return cfg


def _init_cpu_process_group(launcher: str) -> None:
    if launcher == 'slurm':
        # Same variable mapping as mmengine's _init_dist_slurm.
        proc_id = int(os.environ['SLURM_PROCID'])
        ntasks = int(os.environ['SLURM_NTASKS'])
        node_list = os.environ['SLURM_NODELIST']
        import subprocess
        addr = subprocess.getoutput(f'scontrol show hostname {node_list} | head -n1')
        os.environ.setdefault('MASTER_PORT', '29500')
        os.environ.setdefault('MASTER_ADDR', addr)
        os.environ['WORLD_SIZE'] = str(ntasks)
        os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
        os.environ['RANK'] = str(proc_id)
    elif launcher != 'pytorch':
        raise ValueError(f'launcher {launcher!r} is not supported on CPU '
                         "(use 'pytorch' with torchrun, or 'slurm')")
    torch_dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                  world_size=int(os.environ['WORLD_SIZE']))


def finish_launch() -> None:
    """End the process group of a launched run (no-op in one process).

    A barrier first, so that no rank leaves while another is still in a collective, then
    ``destroy_process_group`` (torch's advice for the end of a program): a group left for the
    interpreter's exit can tear gloo's worker threads down mid-flight and abort a rank after a
    run that succeeded (``terminate called without an active exception``, exit code -6).
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def get_local_rank() -> Optional[int]:
    """LOCAL_RANK from the environment (set by torchrun), None outside a launcher."""
    value = os.environ.get('LOCAL_RANK')
    return None if value is None else int(value)


def run_on_main_rank(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on rank 0 and broadcast its result to every rank.

    An exception of ``fn`` is raised on every rank (in one process, as it is), so that no
    rank waits forever for a collective the failed rank never reaches.
    """
    rank, world = get_dist_info()
    result, error = None, None
    if rank == 0:
        try:
            result = fn()
        except Exception as e:  # noqa: BLE001 - re-raised below, on every rank
            if world == 1:
                raise
            error = e
    if world > 1:
        box = [(result, error)]
        broadcast_object_list(box, src=0)
        result, error = box[0]
        if error is not None:
            raise error
    return result
