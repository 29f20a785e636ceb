# Copyright (c) mmfer contributors. All rights reserved.
import re
from typing import Callable, List, Optional, Tuple, Union

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict

from mmfer.models.utils.checkpoint_mapping import (check_state_dict_matches,
                                                   load_model_weights)
from mmfer.registry import RUNNERS
from mmfer.utils import extract_state_dict, quiet_console


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
      with an error listing the missing, unexpected and wrong-shaped tensors.

    Config keys read: ``load_from_prefix`` (str, optional; the backbone's prefix in the
    ``load_from`` checkpoint), ``console_log_level`` (str, optional; e.g. ``'WARNING'``: the
    console shows that level and above, without mmengine's per-parameter noise, plus the
    progress lines unless ``console_progress=False``; the log file keeps ``log_level``;
    :func:`mmfer.utils.quiet_console`).
    """

    _resuming = False
    _testing = False
    #: The report of the last ``load_from`` (see :func:`load_model_weights`).
    load_report: Optional[dict] = None

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
        self._testing = True
        try:
            return super().test()
        finally:
            self._testing = False

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
