# Copyright (c) mmfer contributors. All rights reserved.
"""Training runs of the study, in this process: one mmengine ``FERRunner`` per run.

Every run is an ordinary config (``configs/ssl_study/*.py``) with the preset's sizes merged in
(:func:`run_config`), trained by ``FERRunner`` exactly as ``tools/train.py`` would (the
config is dumped into the run's work dir), but without a new interpreter per run. An
interrupted run resumes from its last checkpoint; the console shows warnings only (the full
log goes to ``<work_dir>/<timestamp>/<timestamp>.log``).
"""
import copy
import gc
import os
import os.path as osp
import time
from typing import Dict, Optional, Tuple

from mmengine.config import Config

from .presets import EVAL_CONFIG, REFERENCE_CONFIG, Preset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def repo_path(path: str) -> str:
    """``path`` relative to the repository root when it is not absolute."""
    return path if osp.isabs(path) else osp.join(REPO, path)


def unformatted(cfg: Config) -> Config:
    """``cfg`` without yapf formatting of its text: a Runner dumps and logs its config three
    times, and yapf costs about a second each time on a busy 2-core machine (mmengine 0.10's
    ``Config.fromfile`` ignores its ``format_python_code`` argument for ordinary configs)."""
    object.__setattr__(cfg, '_format_python_code', False)
    return cfg


def schedule_overrides(cfg: Config, iters: int, warmup_iters: int) -> None:
    """Set ``max_iters`` and the warm-up + cosine schedule of a study config in place."""
    warm = max(0, min(int(warmup_iters), iters - 1))
    cfg.train_cfg.max_iters = int(iters)
    sched = cfg.param_scheduler
    if len(sched) != 2 or sched[0].type != 'LinearLR' or sched[1].type != 'CosineAnnealingLR':
        raise ValueError(f'{cfg.filename}: the study expects param_scheduler = [LinearLR, '
                         f'CosineAnnealingLR], got {[s.type for s in sched]}')
    sched[0].end = max(warm, 1)
    sched[1].begin = warm
    sched[1].T_max = max(1, iters - warm)
    sched[1].end = int(iters)


def monitor_hook(preset: Preset, rafdb_root: str, interval: Optional[int] = None) -> dict:
    """The study's :class:`~mmfer.engine.FeatureMonitorHook`: subsets of the bank and the
    test split (different people), the evaluation config's test pipeline."""
    ev = Config.fromfile(repo_path(EVAL_CONFIG))
    pipeline = copy.deepcopy(ev.test_dataloader.dataset.pipeline)
    sets = {}
    for name, split, n in (('bank', 'train', preset.monitor_bank),
                           ('query', 'test', preset.monitor_query)):
        sets[name] = dict(type='RAFDB', data_root=rafdb_root, split=split, pipeline=pipeline,
                          indices=int(n))
    return dict(type='FeatureMonitorHook', interval=int(interval or preset.monitor_interval),
                bank=sets['bank'], query=sets['query'], knn_k=(10, 30))


def run_config(config: str, preset: Preset, seed: int, work_dir: str, data_root: str,
               monitor: Optional[dict] = None, iters: Optional[int] = None,
               optim: Optional[Dict[str, float]] = None) -> Config:
    """A study config with the preset's sizes: what one run trains.

    Args:
        config (str): A config of ``configs/ssl_study`` (or any config with the same
            scheduler layout and an iteration-based loop).
        preset (Preset): Sizes, batch, workers, checkpoint interval and the calibrated
            optimisation (``lr``, ``momentum``, ``weight_decay``, ``base_momentum`` when set).
        seed (int): ``randomness.seed``.
        work_dir (str): The run's folder.
        data_root (str): The pre-training data folder (``train_dataloader.dataset.data_root``).
        monitor (dict, optional): A ``FeatureMonitorHook`` config appended to
            ``custom_hooks``.
        iters (int, optional): Iterations; defaults to ``preset.iters``.
        optim (dict, optional): Overrides of ``lr``, ``momentum``, ``weight_decay``,
            ``base_momentum``, ``batch_size`` (calibration); win over the preset's.

    Returns:
        Config: ready for ``FERRunner``.
    """
    cfg = unformatted(Config.fromfile(repo_path(config)))
    iters = int(iters or preset.iters)
    knobs = dict(lr=preset.lr, momentum=preset.momentum, weight_decay=preset.weight_decay,
                 base_momentum=preset.base_momentum, batch_size=preset.batch_size)
    knobs.update(optim or {})
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{osp.basename(osp.dirname(work_dir))}_{osp.basename(work_dir)}'
    cfg.randomness = dict(seed=int(seed), deterministic=False)
    cfg.console_log_level = 'WARNING'   # the study prints one line per run
    cfg.console_progress = False
    loader = cfg.train_dataloader
    loader.batch_size = int(knobs['batch_size'])
    loader.num_workers = int(preset.workers)
    loader.persistent_workers = False
    loader.dataset.data_root = data_root
    # no pickled copy of the (small) file list: mmengine then runs a full gc.collect() per
    # dataset, ~0.4 s in a process that holds many finished runs
    loader.dataset.serialize_data = False
    schedule_overrides(cfg, iters, preset.warmup_iters)
    opt = cfg.optim_wrapper.optimizer
    for key in ('lr', 'momentum', 'weight_decay'):
        if knobs.get(key) is not None:
            opt[key] = float(knobs[key])
    if knobs.get('base_momentum') is not None and 'base_momentum' in cfg.model:
        cfg.model.base_momentum = float(knobs['base_momentum'])
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False,
                                        interval=max(1, min(preset.checkpoint_interval, iters)),
                                        max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=max(1, min(10, iters // 10)))
    if monitor is not None:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [monitor]
    return cfg


def final_checkpoint(work_dir: str, iters: int) -> str:
    return osp.join(work_dir, f'iter_{iters}.pth')


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children (workers)."""
    import resource
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def train_in_process(cfg: Config) -> Tuple[str, float, float]:
    """Train ``cfg`` with ``FERRunner`` here; resume from the work dir's last checkpoint.

    Returns:
        tuple: ``(final checkpoint, wall seconds, CPU seconds of this launch)`` (CPU: this
        process and its dataloader workers).
    """
    from mmfer.registry import RUNNERS
    from mmfer.utils import find_latest_checkpoint
    cfg = copy.deepcopy(cfg)
    os.makedirs(cfg.work_dir, exist_ok=True)
    latest = find_latest_checkpoint(cfg.work_dir)
    if latest is not None:
        cfg.resume = True
        cfg.load_from = latest
    tic, cpu = time.perf_counter(), cpu_seconds()
    runner = RUNNERS.build(cfg)
    try:
        runner.train()
    finally:
        del runner
        gc.collect()  # ends the dataloader workers of this run
    seconds, cpu = time.perf_counter() - tic, cpu_seconds() - cpu
    ckpt = final_checkpoint(cfg.work_dir, cfg.train_cfg.max_iters)
    if not osp.isfile(ckpt):
        raise RuntimeError(f'training {cfg.work_dir} ended without {ckpt}')
    return ckpt, seconds, cpu


def random_init_checkpoint(seed: int, out_file: str, config: str = REFERENCE_CONFIG) -> str:
    """The untrained backbone of ``config`` (seed ``seed``, ``init_weights()``), saved with
    ``backbone.*`` keys like a pre-training checkpoint."""
    import torch
    from mmengine.runner import set_random_seed

    from mmfer.registry import MODELS
    if osp.isfile(out_file):
        return out_file
    cfg = Config.fromfile(repo_path(config))
    set_random_seed(int(seed))
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    os.makedirs(osp.dirname(out_file), exist_ok=True)
    tmp = out_file + '.tmp'
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in backbone.state_dict().items()},
                    meta=dict(note='random initialisation', seed=int(seed), config=config)),
               tmp)
    os.replace(tmp, out_file)
    return out_file


def supervised_run_config(preset: Preset, seed: int, work_dir: str, rafdb_root: str,
                          monitor: Optional[dict] = None,
                          optim: Optional[Dict[str, float]] = None) -> Config:
    """The supervised row: the reference config's backbone trained on the bank's labels
    (:func:`mmfer.apis.supervised_baseline.supervised_config`), with the study's optimiser."""
    from mmfer.apis.supervised_baseline import supervised_config
    ref = Config.fromfile(repo_path(REFERENCE_CONFIG))
    opt = ref.optim_wrapper.optimizer
    knobs = dict(lr=preset.lr or opt.lr, momentum=preset.momentum or opt.momentum,
                 weight_decay=preset.weight_decay or opt.weight_decay)
    knobs.update({k: v for k, v in (optim or {}).items() if k in knobs})
    cfg = supervised_config(
        ref, dict(type='RAFDB', data_root=rafdb_root, split='train'), num_classes=7,
        image_size=preset.image_size, max_iters=preset.supervised_iters,
        batch_size=preset.batch_size, warmup_iters=preset.warmup_iters,
        num_workers=preset.workers, work_dir=work_dir, **knobs)
    cfg = unformatted(cfg)
    cfg.experiment_name = f'supervised_{osp.basename(work_dir)}'
    cfg.randomness = dict(seed=int(seed), deterministic=False)
    cfg.console_log_level = 'WARNING'
    cfg.console_progress = False
    cfg.train_dataloader.persistent_workers = False
    cfg.default_hooks.checkpoint.interval = max(1, min(preset.checkpoint_interval,
                                                       preset.supervised_iters))
    if monitor is not None:
        cfg.custom_hooks = [monitor]
    return cfg
