# Copyright (c) mmfer contributors. All rights reserved.
import math
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import ExponentialMovingAverage, is_model_wrapper

from mmfer.registry import HOOKS


def ema_decay(ema: ExponentialMovingAverage, max_iters: Optional[int] = None) -> float:
    """The decay τ = 1 - m of the *last* update of an mmengine EMA model.

    mmengine's EMA weights the online network by ``m`` (``X' = (1 - m) X' + m X``), so the
    conventional momentum of BYOL / MoCo is τ = 1 - m. mmpretrain's ``CosineEMA`` anneals ``m``
    from ``momentum`` to ``end_momentum`` with a cosine over ``max_iters`` (τ from
    1 - base_momentum to 1 - end_momentum); a plain EMA keeps it fixed.

    Args:
        ema (ExponentialMovingAverage): The averaged model (e.g. BYOL's ``target_net``).
        max_iters (int, optional): The schedule length ``CosineEMA`` anneals over.

    Returns:
        float: τ of the last update (the very first update copies the online network; its
        scheduled value is returned).
    """
    end = getattr(ema, 'end_momentum', None)
    if end is None or not max_iters:
        return 1.0 - float(ema.momentum)
    steps = max(int(ema.steps) - 1, 0)  # ``update_parameters`` used steps - 1
    anneal = (math.cos(math.pi * steps / float(max_iters)) + 1) / 2
    return 1.0 - (end - (end - float(ema.momentum)) * anneal)


@HOOKS.register_module()
class EMAMomentumLoggerHook(Hook):
    """Log the decay τ of the model's EMA target network as ``momentum`` every iteration.

    For BYOL-like (``target_net``, a ``CosineEMA``) and MoCo-like (``encoder_k``) algorithms,
    mmpretrain's and mmfer's alike; the value (see :func:`ema_decay`) goes to the message hub
    as ``train/momentum``, so the logger and the visualisation backends record it with the
    losses.

    Args:
        module_names (Sequence[str]): Attributes of the model searched, in order, for the EMA
            model. Defaults to ``('target_net', 'encoder_k')``.
        key (str): Name of the logged scalar. Defaults to ``'momentum'``.
    """

    priority = 'NORMAL'  # after RuntimeInfoHook (model outputs), before LoggerHook

    def __init__(self, module_names: Sequence[str] = ('target_net', 'encoder_k'),
                 key: str = 'momentum') -> None:
        self.module_names = tuple(module_names)
        self.key = key

    def _ema(self, runner) -> ExponentialMovingAverage:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for name in self.module_names:
            ema = getattr(model, name, None)
            if isinstance(ema, ExponentialMovingAverage):
                return ema
        raise AttributeError(
            f'{type(self).__name__}: {type(model).__name__} has no EMA target network (looked '
            f'for {", ".join(self.module_names)}); remove the hook from custom_hooks')

    def before_train(self, runner) -> None:
        self._ema(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        max_iters = runner.message_hub.get_info('max_iters') or runner.max_iters
        runner.message_hub.update_scalar(f'train/{self.key}',
                                         ema_decay(self._ema(runner), max_iters))
