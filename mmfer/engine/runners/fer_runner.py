# Copyright (c) mmfer contributors. All rights reserved.
import os.path as osp
import re
import weakref
from typing import Callable, List, Optional, Tuple, Union

import torch.nn as nn
from mmengine.dist import broadcast_object_list, get_rank, get_world_size
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict

from mmfer.models.utils.checkpoint_mapping import (check_state_dict_matches,
                                                   load_model_weights)
from mmfer.registry import RUNNERS
from mmfer.utils import (WorkDirLock, WorkDirLockedError, check_checkpoint_file,
                         clean_stale_temp_files, extract_state_dict, find_latest_checkpoint,
                         quiet_console)
from .config_checks import check_train_length, unknown_top_level_keys


@RUNNERS.register_module()
class FERRunner(Runner):
    """mmengine's ``Runner`` with mmfer's checkpoint policy: ``load_from`` and ``resume``
    never load a checkpoint partially and silently.

    Every mmfer config sets ``runner_type = 'FERRunner'`` (``configs/_base_/default_runtime.py``);
    ``tools/train.py`` and ``tools/test.py`` build it with ``RUNNERS.build(cfg)``.

    - **load_from** (fine-tuning, linear evaluation, ``tools/test.py CONFIG CKPT``) goes
      through :func:`mmfer.models.utils.load_model_weights`: ``model.backbone`` must be
      found completely (keys under ``load_from_prefix``, default ``'backbone.'``, or the
      backbone's plain names as in a torchvision state dict; DDP ``module.`` stripped; finite
      values), otherwise the run stops with an error naming the file, the prefix and the
      counts. Other model tensors (heads, necks) are loaded when the checkpoint has them with
      the same name and shape; during ``test()`` every one must be found (evaluating a random
      head is an error), during training the rest keep their initialisation and are listed
      in the log.
    - **resume** is strict: a checkpoint whose keys or shapes differ from the model stops
      with an error listing the missing, unexpected and wrong-shaped tensors. ``resume=True``
      without ``load_from`` continues from the work dir's newest complete checkpoint
      (:func:`mmfer.utils.find_latest_checkpoint`) and says so when there is none.

    And its checks, before any work starts:

    - **one work dir, one run**: the work dir is locked (:class:`mmfer.utils.WorkDirLock`,
      ``<work_dir>/.mmfer.lock``) from construction until ``train()`` / ``val()`` /
      ``test()`` returns or raises (or the runner is deleted, or the process exits); a second
      run on it stops with :class:`mmfer.utils.WorkDirLockedError` naming the holder. A
      stale lock (its process is gone) is taken over with a warning, and the partial
      checkpoint files of the killed run are removed and listed. Under a distributed
      launcher rank 0 takes the lock for the job and every rank gets its verdict.
    - **the config**: unknown top-level keys are warned about with the closest known name
      (:func:`~mmfer.engine.runners.config_checks.unknown_top_level_keys`); a non-positive
      ``train_cfg.max_iters`` / ``max_epochs`` / ``val_interval`` is an error;
      ``load_from`` must be a readable checkpoint file
      (:func:`mmfer.utils.check_checkpoint_file`).

    ``train()`` ends by logging where the results are: work dir, last checkpoint, log file.

    Config keys read: ``load_from_prefix`` (str, optional; the backbone's prefix in the
    ``load_from`` checkpoint), ``console_log_level`` (str, optional; e.g. ``'WARNING'``: the
    console shows that level and above, without mmengine's per-parameter noise, plus the
    progress lines unless ``console_progress=False``; the log file keeps ``log_level``;
    :func:`mmfer.utils.quiet_console`).
    """

    _resuming = False
    _testing = False
    _work_dir_lock: Optional[WorkDirLock] = None  # rank 0 only
    _work_dir_released = False  # every rank: True after a run ended (train/val/test)
    #: The report of the last ``load_from`` (see :func:`load_model_weights`).
    load_report: Optional[dict] = None

    def __init__(self, *args, **kwargs) -> None:
        cfg = kwargs.get('cfg')
        source = getattr(cfg, 'filename', None) or 'the config'
        check_train_length(kwargs.get('train_cfg'), source)
        load_from = kwargs.get('load_from')
        if load_from and '://' not in str(load_from):  # local files; mmengine loads URLs
            check_checkpoint_file(load_from)
        self._notes: List[str] = unknown_top_level_keys(cfg) if cfg is not None else []
        try:
            super().__init__(*args, **kwargs)
        except BaseException:
            self._release_work_dir()
            raise
        self._notify()

    # ------------------------------------------------------------------ the work-dir lock
    def setup_env(self, env_cfg: dict) -> None:
        super().setup_env(env_cfg)  # initialises the process group: the rank is known
        self._take_work_dir()

    def _take_work_dir(self) -> None:
        """Rank 0 locks the work dir; every rank raises if that failed."""
        error = None
        if get_rank() == 0:
            if self._work_dir_lock is None:
                self._work_dir_lock = WorkDirLock(self._work_dir)
                weakref.finalize(self, self._work_dir_lock.release)
            lock = self._work_dir_lock
            try:
                if not lock.held:
                    lock.acquire()
                    self._notes += lock.notes
                    lock.notes = []
                    self._notes += [
                        f'removed {p}: the partial file of a write that was interrupted'
                        for p in clean_stale_temp_files(self._work_dir, lock.start_time)]
            except WorkDirLockedError as e:
                error = str(e)
        if get_world_size() > 1:
            verdict = [error]
            broadcast_object_list(verdict, src=0)
            error = verdict[0]
        if error is not None:
            raise WorkDirLockedError(error)
        self._work_dir_released = False

    def _release_work_dir(self) -> None:
        self._work_dir_released = True
        if self._work_dir_lock is not None:
            self._work_dir_lock.release()

    def _notify(self) -> None:
        for note in self._notes:
            self.logger.warning(note)
        self._notes = []

    def _start_run(self) -> None:
        """Before train/val/test: hold the work dir (again, for a second run of this runner,
        on every rank together) and log what the checks found."""
        if self._work_dir_released:
            self._take_work_dir()
        self._notify()

    def train(self) -> nn.Module:
        self._start_run()
        try:
            model = super().train()
        finally:
            self._release_work_dir()
        self._log_results()
        return model

    def val(self) -> dict:
        self._start_run()
        try:
            return super().val()
        finally:
            self._release_work_dir()

    def _log_results(self) -> None:
        """Say where the results are: work dir, last checkpoint, log file (rank 0)."""
        if get_rank() != 0:
            return
        last = self.message_hub.get_info('last_ckpt') or find_latest_checkpoint(self.work_dir)
        log_file = osp.join(self.log_dir, f'{self.timestamp}.log')
        lines = [f'Training finished after {self.iter} iterations ({self.epoch} epochs).',
                 f'  work dir:        {self.work_dir}',
                 f'  last checkpoint: {last or "none saved (see default_hooks.checkpoint)"}',
                 f'  log:             {log_file if osp.isfile(log_file) else self.log_dir}']
        self.logger.info('\n'.join(lines))

    @property
    def load_from_prefix(self) -> Optional[str]:
        return self.cfg.get('load_from_prefix', 'backbone.')

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        """mmengine's logger; with ``console_log_level`` a quiet console (see the class)."""
        logger = super().build_logger(log_level=log_level, log_file=log_file, **kwargs)
        console = self.cfg.get('console_log_level') if self.cfg else None
        if console:
            quiet_console(logger, console, progress=self.cfg.get('console_progress', True))
        return logger

    def test(self) -> dict:
        self._start_run()
        self._testing = True
        try:
            return super().test()
        finally:
            self._testing = False
            self._release_work_dir()

    def load_or_resume(self) -> None:
        """mmengine's, with mmfer's lookup of the latest checkpoint for ``resume=True`` without
        ``load_from`` (robust to a truncated ``last_checkpoint``), saying when there is none."""
        if self._resume and self._load_from is None and not self._has_loaded:
            latest = find_latest_checkpoint(self.work_dir)
            if latest is None:
                self.logger.warning(f'resume=True but {self.work_dir} holds no checkpoint: '
                                    'training starts from scratch')
                self._resume = False
            else:
                self.logger.info(f'Resuming from the latest checkpoint {latest}')
                self._load_from = latest
        super().load_or_resume()

    def resume(self, filename: str, *args, **kwargs) -> None:
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: List[Tuple[str, str]] = [(r'^module\.', '')]) -> dict:
        """Load ``filename`` into the model: strict for ``resume`` (or ``strict=True``),
        :func:`load_model_weights`' policy otherwise. Returns the checkpoint."""
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        state = extract_state_dict(checkpoint, str(filename))
        for pattern, repl in revise_keys:
            state = {re.sub(pattern, repl, k): v for k, v in state.items()}
        source = f'checkpoint {filename}'
        if self._resuming or strict:
            check_state_dict_matches(model, state, source)
            load_state_dict(model, state, strict=True, logger='current')
        else:
            self.load_report = load_model_weights(model, state, source,
                                                  prefix=self.load_from_prefix,
                                                  require_all=self._testing)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
