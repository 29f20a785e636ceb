# Copyright (c) mmfer contributors. All rights reserved.
"""SSL-FER's checkpoint rule: every 5 epochs once instance discrimination reaches 60 % top-1."""
from typing import Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import CheckpointHook

from mmfer.registry import HOOKS


@HOOKS.register_module()
class InstDiscCheckpointHook(CheckpointHook):
    """A ``CheckpointHook`` that starts saving once the epoch's instance-discrimination top-1
    accuracy reaches ``min_accuracy``.

    SSL-FER §4.1: "we saved the checkpoints every 5 epochs when its instance discrimination
    top-1 accuracy reached 60% for downstream task evaluation". The accuracy is the mean over
    the epoch's iterations (and ranks) of the model's logged ``acc_key`` (SSLFER's head logs
    ``acc_inst`` in percent). Once it reaches ``min_accuracy`` the gate stays open and every
    ``interval``-th epoch is saved (epochs 5, 10, ... with the default ``interval=5``); before,
    only the last epoch is (``save_last``). The epoch mean is logged every epoch. After a
    resume the gate opens again at the first epoch whose mean reaches the threshold.

    Args:
        min_accuracy (float): Threshold in the unit of ``acc_key`` (percent). Defaults to 60.
        acc_key (str): Key of the accuracy in the model's outputs. Defaults to ``'acc_inst'``.
        interval (int): Epochs between checkpoints once the gate is open. Defaults to 5.
        max_keep_ckpts (int): Checkpoints kept (-1: all, the paper evaluates each of them
            downstream, Tab. 3). Defaults to -1.
        **kwargs: Other :class:`mmengine.hooks.CheckpointHook` arguments (``by_epoch`` must
            stay True).
    """

    def __init__(self, min_accuracy: float = 60.0, acc_key: str = 'acc_inst',
                 interval: int = 5, max_keep_ckpts: int = -1, **kwargs) -> None:
        if not kwargs.get('by_epoch', True):
            raise ValueError('InstDiscCheckpointHook works per epoch (by_epoch=True)')
        super().__init__(interval=interval, max_keep_ckpts=max_keep_ckpts, **kwargs)
        self.min_accuracy = float(min_accuracy)
        self.acc_key = acc_key
        self.gate_open = False
        self._sum = 0.
        self._count = 0

    def before_train_epoch(self, runner) -> None:
        self._sum, self._count = 0., 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if outputs and self.acc_key in outputs:
            self._sum += float(outputs[self.acc_key])
            self._count += 1
        super().after_train_iter(runner, batch_idx, data_batch, outputs)

    def epoch_accuracy(self) -> float:
        """Mean of ``acc_key`` over this epoch's iterations and all ranks."""
        stats = torch.tensor([self._sum, float(self._count)], dtype=torch.float64)
        all_reduce(stats)  # sum over ranks (no-op without distributed training)
        if stats[1] == 0:
            raise KeyError(f'InstDiscCheckpointHook: the model logged no {self.acc_key!r} '
                           'this epoch; use it with a model whose loss() returns it (SSLFER) '
                           'or set acc_key')
        return float(stats[0] / stats[1])

    def after_train_epoch(self, runner) -> None:
        acc = self.epoch_accuracy()
        if not self.gate_open and acc >= self.min_accuracy:
            self.gate_open = True
            runner.logger.info(f'instance-discrimination top-1 {acc:.2f} >= '
                               f'{self.min_accuracy:g}: saving every {self.interval} epochs '
                               'from now on')
        runner.logger.info(f'epoch {runner.epoch + 1}: instance-discrimination top-1 '
                           f'{acc:.2f} (checkpoint gate {"open" if self.gate_open else "closed"}'
                           f' at {self.min_accuracy:g})')
        if self.gate_open:
            super().after_train_epoch(runner)
        elif self.save_last and self.is_last_train_epoch(runner):
            runner.logger.info(f'Saving checkpoint at {runner.epoch + 1} epochs (last epoch)')
            self._save_checkpoint(runner)
