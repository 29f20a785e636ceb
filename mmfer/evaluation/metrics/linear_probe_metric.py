# Copyright (c) mmfer contributors. All rights reserved.
from typing import Any, Dict, Optional, Sequence

from mmfer.registry import METRICS
from .. import functional as FM
from ..linear_probe import DEFAULT_LR_GRID, DEFAULT_WD_GRID, linear_probe_eval
from .feature_metric import FeatureMetric


@METRICS.register_module()
class LinearProbe(FeatureMetric):
    """Linear-probe accuracy: one FC layer fitted on the bank's frozen features (percent).

    The protocol (:func:`mmfer.evaluation.linear_probe_eval`): a seeded validation split is
    carved out of the bank -- whole identities when the bank carries ``identity``, so no
    validation person is in the part the probe is fitted on, else stratified by class --;
    every weight decay of ``wd_grid`` (and, with SGD, every learning rate of ``lr_grid``) is
    fitted on the rest and scored on it; the best (ties: larger weight decay) is refitted on
    the whole bank and scores the query set. With a fixed ``weight_decay`` there is no
    validation (one fit on the whole bank, mmfer's protocol before this choice).

    Features are standardised with the bank's statistics (``bn=True``, the non-affine BN of
    MAE / mmselfsup probes); L-BFGS runs ``epochs`` full-batch iterations (seeded,
    deterministic).

    Keys (prefix ``linear``): ``accuracy``, ``macro_f1``, ``mean_class_accuracy``,
    ``per_class_f1/<class>``, ``weight_decay`` (used), ``lr`` (SGD), ``selection``
    (``'validation'`` / ``'fixed'``), and after a validation choice
    ``val/accuracy/wd=<wd>[,lr=<lr>]``, ``val/num_fit``, ``val/num_val``, ``val/grouped``;
    plus the probe settings (``optimizer``, ``epochs``, ``bn``, ``seed``).

    Args:
        weight_decay (float, optional): Fixed weight decay; None (default) chooses it on
            validation.
        wd_grid (Sequence[float]): Defaults to 1e-6 ... 10 in decades.
        lr_grid (Sequence[float]): SGD learning rates tried. Defaults to (0.01, 0.1, 1.0).
        val_fraction (float): Share of the bank (of its identities) held out. Default 0.2.
        optimizer (str): ``'lbfgs'`` (default) or ``'sgd'``.
        epochs (int): L-BFGS iterations / SGD epochs. Defaults to 200.
        lr (float): SGD learning rate with a fixed weight decay. Defaults to 0.1.
        batch_size (int): SGD batch size. Defaults to 256.
        bn (bool): Standardise features. Defaults to True.
        class_balanced (bool): Inverse-frequency class weights. Defaults to False.
        seed (int): Seeds the split and the probes. Defaults to 0.
        num_classes (int, optional): Defaults to ``len(dataset_meta['classes'])``.
        collect_device (str): Unused by the loop (features are gathered already).
        prefix (str, optional): Defaults to ``'linear'``.
    """
    default_prefix: Optional[str] = 'linear'
    requires_bank = True

    def __init__(self,
                 weight_decay: Optional[float] = None,
                 wd_grid: Sequence[float] = DEFAULT_WD_GRID,
                 lr_grid: Sequence[float] = DEFAULT_LR_GRID,
                 val_fraction: float = 0.2,
                 optimizer: str = 'lbfgs',
                 epochs: int = 200,
                 lr: float = 0.1,
                 batch_size: int = 256,
                 bn: bool = True,
                 class_balanced: bool = False,
                 seed: int = 0,
                 num_classes: Optional[int] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if optimizer not in ('lbfgs', 'sgd'):
            raise ValueError(f"LinearProbe: optimizer must be 'lbfgs' or 'sgd', got "
                             f'{optimizer!r}')
        for name, value in (('epochs', epochs), ('batch_size', batch_size)):
            if int(value) != value or value < 1:
                raise ValueError(f'LinearProbe: {name} must be a positive integer, got '
                                 f'{value!r}')
        if weight_decay is not None and weight_decay < 0:
            raise ValueError(f'LinearProbe: weight_decay must be >= 0, got {weight_decay}')
        if any(w < 0 for w in wd_grid) or any(v <= 0 for v in lr_grid) or lr <= 0:
            raise ValueError('LinearProbe: weight decays must be >= 0 and learning rates > 0')
        self.weight_decay = weight_decay
        self.wd_grid = tuple(wd_grid)
        self.lr_grid = tuple(lr_grid)
        self.val_fraction = val_fraction
        self.probe_cfg = dict(optimizer=optimizer, epochs=int(epochs), lr=lr,
                              batch_size=int(batch_size), bn=bn,
                              class_balanced=class_balanced, seed=seed)
        self.num_classes = num_classes

    def compute(self, query: Dict[str, Any], bank: Optional[Dict[str, Any]] = None) -> dict:
        name = type(self).__name__
        bank_y = self._require(bank, 'gt_label', 'bank', name)
        query_y = self._require(query, 'gt_label', 'query', name)
        num_classes = self.num_classes or self._num_classes(bank_y, query_y)
        res = linear_probe_eval(bank['feats'], bank_y, query['feats'], num_classes,
                                bank_groups=bank.get('identity'),
                                weight_decay=self.weight_decay, wd_grid=self.wd_grid,
                                lr_grid=self.lr_grid, val_fraction=self.val_fraction,
                                **self.probe_cfg)
        pred = res['pred']
        out = dict(accuracy=100.0 * FM.accuracy(pred, query_y),
                   macro_f1=100.0 * FM.macro_f1(pred, query_y, num_classes),
                   mean_class_accuracy=100.0 * FM.mean_class_accuracy(pred, query_y,
                                                                      num_classes))
        classes = (self.dataset_meta or {}).get('classes')
        if not classes or len(classes) != num_classes:
            classes = [str(c) for c in range(num_classes)]
        for c, f1 in zip(classes, FM.per_class_f1(pred, query_y, num_classes)):
            out[f'per_class_f1/{c}'] = 100.0 * float(f1)
        out['weight_decay'] = res['weight_decay']
        if self.probe_cfg['optimizer'] == 'sgd':
            out['lr'] = res['lr']
        out['selection'] = res['selection']
        if res['selection'] == 'validation':
            for (wd, lr), acc in res['val_accuracy'].items():
                key = f'wd={wd:g}' + ('' if lr is None else f',lr={lr:g}')
                out[f'val/accuracy/{key}'] = 100.0 * acc
            out['val/num_fit'] = res['num_fit']
            out['val/num_val'] = res['num_val']
            out['val/grouped'] = int(res['grouped'])
        out.update({k: v for k, v in self.probe_cfg.items()
                    if k in ('optimizer', 'epochs', 'bn', 'seed')})
        out['bn'] = int(out['bn'])
        return out
