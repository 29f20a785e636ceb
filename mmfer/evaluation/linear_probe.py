# Copyright (c) mmfer contributors. All rights reserved.
"""Linear probe on frozen features (one FC layer; L-BFGS or SGD; seeded).

:func:`linear_probe` trains one probe with given hyper-parameters. :func:`linear_probe_eval`
is the evaluation protocol: it carves a seeded validation split out of the bank (grouped by
identity when identities are known, so that no validation person is in the part the probe
is fitted on), picks the weight decay (and, for SGD, the learning rate) with the best
validation accuracy from a grid, refits on the whole bank and predicts the query set. With a
fixed ``weight_decay`` it is a single :func:`linear_probe` call (the protocol of mmfer before
the validation choice).
"""
import itertools
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def _standardise(train: torch.Tensor, test: torch.Tensor, eps: float = 1e-5):
    """Non-affine BatchNorm with the training statistics (the 'BN' of MAE/mmselfsup probes)."""
    mean = train.mean(0, keepdim=True)
    std = (train.var(0, unbiased=False, keepdim=True) + eps).sqrt()
    return (train - mean) / std, (test - mean) / std


def linear_probe(train_feats: torch.Tensor,
                 train_labels: torch.Tensor,
                 test_feats: torch.Tensor,
                 num_classes: Optional[int] = None,
                 optimizer: str = 'lbfgs',
                 bn: bool = True,
                 weight_decay: float = 1e-4,
                 epochs: int = 100,
                 lr: float = 0.1,
                 batch_size: int = 256,
                 class_balanced: bool = False,
                 seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Train a linear classifier on frozen features and score the test features.

    Args:
        train_feats (Tensor): (N, D) training features.
        train_labels (Tensor): (N,) int labels.
        test_feats (Tensor): (M, D) test features.
        num_classes (int, optional): Defaults to ``max(train_labels) + 1``.
        optimizer (str): ``'lbfgs'`` (full batch, ``epochs`` = max iterations; fast and
            deterministic on cached features) or ``'sgd'`` (mini-batch, momentum 0.9,
            cosine schedule from ``lr`` over ``epochs`` epochs).
        bn (bool): Standardise features with the training mean/std first. Defaults to True.
        weight_decay (float): L2 penalty on the weights. Defaults to 1e-4.
        epochs (int): LBFGS iterations / SGD epochs. Defaults to 100.
        lr (float): Learning rate (LBFGS uses 1.0 when lr is None). Defaults to 0.1 (SGD).
        batch_size (int): SGD batch size.
        class_balanced (bool): Weight the cross-entropy by inverse class frequency.
        seed (int): Seeds initialisation and SGD shuffling.

    Returns:
        tuple: ``(pred_labels (M,) long, scores (M, C) float)``.
    """
    if optimizer not in ('lbfgs', 'sgd'):
        raise ValueError(f"optimizer must be 'lbfgs' or 'sgd', got {optimizer!r}")
    x = train_feats.float()
    xt = test_feats.float()
    y = train_labels.long().reshape(-1)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f'{x.shape[0]} training features but {y.shape[0]} labels')
    num_classes = num_classes or int(y.max()) + 1
    if bn:
        x, xt = _standardise(x, xt)
    gen = torch.Generator().manual_seed(seed)
    fc = nn.Linear(x.shape[1], num_classes)
    with torch.no_grad():
        fc.weight.normal_(0, 0.01, generator=gen)
        fc.bias.zero_()
    weight = None
    if class_balanced:
        counts = torch.bincount(y, minlength=num_classes).float()
        weight = torch.where(counts > 0, counts.sum() / (num_classes * counts.clamp(min=1)),
                             torch.zeros_like(counts))

    def loss_fn(xb, yb):
        return F.cross_entropy(fc(xb), yb, weight=weight) + \
            0.5 * weight_decay * fc.weight.pow(2).sum()

    if optimizer == 'lbfgs':
        opt = torch.optim.LBFGS(fc.parameters(), lr=1.0, max_iter=epochs,
                                history_size=20, line_search_fn='strong_wolfe')

        def closure():
            opt.zero_grad()
            loss = loss_fn(x, y)
            loss.backward()
            return loss

        opt.step(closure)
    else:
        opt = torch.optim.SGD(fc.parameters(), lr=lr, momentum=0.9)
        steps_per_epoch = (x.shape[0] + batch_size - 1) // batch_size
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * steps_per_epoch)
        for _ in range(epochs):
            perm = torch.randperm(x.shape[0], generator=gen)
            for i in range(0, x.shape[0], batch_size):
                idx = perm[i:i + batch_size]
                opt.zero_grad()
                loss_fn(x[idx], y[idx]).backward()
                opt.step()
                sched.step()
    with torch.no_grad():
        scores = fc(xt)
    return scores.argmax(1), scores


#: Weight decays tried on the validation split (decades; the penalty is
#: ``0.5 * wd * |W|^2`` on top of the mean cross-entropy of BN-standardised features).
DEFAULT_WD_GRID: Tuple[float, ...] = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
#: Learning rates tried with ``optimizer='sgd'`` (L-BFGS has no learning rate to choose).
DEFAULT_LR_GRID: Tuple[float, ...] = (0.01, 0.1, 1.0)


def validation_split(labels: torch.Tensor,
                     groups: Optional[Sequence] = None,
                     val_fraction: float = 0.2,
                     seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Seeded (fit, validation) index split of a bank.

    With ``groups`` (e.g. identities) whole groups go to one side: ``round(val_fraction *
    G)`` randomly chosen groups (at least 1, at most G - 1) form the validation part. Without
    groups the split is stratified by class: ``round(val_fraction * n_c)`` samples of each
    class with at least 2 samples.

    Returns:
        tuple: ``(fit_idx, val_idx)`` sorted LongTensors.

    Raises:
        ValueError: fewer than 2 groups, or a split with an empty side.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f'val_fraction must be in (0, 1), got {val_fraction}')
    y = torch.as_tensor(labels).long().reshape(-1)
    rng = np.random.RandomState(seed)
    n = y.numel()
    is_val = np.zeros(n, dtype=bool)
    if groups is not None:
        _, inverse = np.unique(np.asarray(list(groups)), return_inverse=True)
        inverse = inverse.reshape(-1)
        if inverse.shape[0] != n:
            raise ValueError(f'{n} labels but {inverse.shape[0]} groups')
        num_groups = int(inverse.max()) + 1
        if num_groups < 2:
            raise ValueError('a grouped validation split needs at least 2 groups (identities)')
        n_val = min(num_groups - 1, max(1, int(round(val_fraction * num_groups))))
        val_groups = rng.permutation(num_groups)[:n_val]
        is_val = np.isin(inverse, val_groups)
    else:
        y_np = y.numpy()
        for c in np.unique(y_np):
            idx = np.flatnonzero(y_np == c)
            if idx.size < 2:
                continue
            take = min(idx.size - 1, max(1, int(round(val_fraction * idx.size))))
            is_val[rng.permutation(idx)[:take]] = True
    if is_val.all() or not is_val.any():
        raise ValueError(f'cannot carve a validation split out of {n} bank samples '
                         f'(val_fraction={val_fraction}); give a fixed weight_decay instead')
    return (torch.from_numpy(np.flatnonzero(~is_val)), torch.from_numpy(np.flatnonzero(is_val)))


def linear_probe_eval(bank_feats: torch.Tensor,
                      bank_labels: torch.Tensor,
                      query_feats: torch.Tensor,
                      num_classes: Optional[int] = None,
                      bank_groups: Optional[Sequence] = None,
                      weight_decay: Optional[float] = None,
                      wd_grid: Sequence[float] = DEFAULT_WD_GRID,
                      lr_grid: Sequence[float] = DEFAULT_LR_GRID,
                      val_fraction: float = 0.2,
                      optimizer: str = 'lbfgs',
                      lr: float = 0.1,
                      seed: int = 0,
                      **probe_kwargs) -> Dict[str, object]:
    """The linear-probe protocol: choose hyper-parameters on validation, refit, predict.

    Args:
        bank_feats (Tensor): (N, D) features the probe is fitted on.
        bank_labels (Tensor): (N,) labels.
        query_feats (Tensor): (M, D) features to predict.
        num_classes (int, optional): Defaults to ``max(bank_labels) + 1``.
        bank_groups (Sequence, optional): (N,) identity (or any group) of each bank sample;
            the validation split keeps groups whole.
        weight_decay (float, optional): Fixed weight decay: no validation, one fit on the
            whole bank with ``lr``. None (default): choose it (and ``lr`` for SGD) on
            validation.
        wd_grid (Sequence[float]): Weight decays tried. Defaults to :data:`DEFAULT_WD_GRID`.
        lr_grid (Sequence[float]): Learning rates tried with SGD. Defaults to
            :data:`DEFAULT_LR_GRID`.
        val_fraction (float): Share of the bank (of its groups) held out. Defaults to 0.2.
        optimizer (str): ``'lbfgs'`` or ``'sgd'`` (see :func:`linear_probe`).
        lr (float): SGD learning rate when ``weight_decay`` is fixed.
        seed (int): Seeds the split and every probe.
        **probe_kwargs: Other :func:`linear_probe` arguments (``bn``, ``epochs``,
            ``batch_size``, ``class_balanced``).

    Returns:
        dict: ``pred`` (M,) long, ``scores`` (M, C), ``weight_decay`` and ``lr`` used,
        ``selection`` (``'validation'`` or ``'fixed'``) and, after a validation choice,
        ``val_accuracy`` (``{(wd, lr): accuracy in [0, 1]}``; ``lr`` None for L-BFGS),
        ``num_fit``, ``num_val`` and ``grouped``. Ties in validation accuracy go to the
        larger weight decay (the simpler model), then to the smaller learning rate.
    """
    y = torch.as_tensor(bank_labels).long().reshape(-1)
    num_classes = num_classes or int(y.max()) + 1
    common = dict(num_classes=num_classes, optimizer=optimizer, seed=seed, **probe_kwargs)
    if weight_decay is not None:
        pred, scores = linear_probe(bank_feats, y, query_feats, weight_decay=weight_decay,
                                    lr=lr, **common)
        return dict(pred=pred, scores=scores, weight_decay=weight_decay,
                    lr=lr if optimizer == 'sgd' else None, selection='fixed')
    if not wd_grid:
        raise ValueError('wd_grid is empty')
    fit_idx, val_idx = validation_split(y, bank_groups, val_fraction, seed)
    lrs = list(lr_grid) if optimizer == 'sgd' else [None]
    val_acc = {}
    for wd, lr_ in itertools.product(wd_grid, lrs):
        pred, _ = linear_probe(bank_feats[fit_idx], y[fit_idx], bank_feats[val_idx],
                               weight_decay=wd, lr=lr if lr_ is None else lr_, **common)
        val_acc[(wd, lr_)] = float((pred == y[val_idx]).double().mean())
    best_wd, best_lr = max(val_acc, key=lambda c: (val_acc[c], c[0],
                                                   -(c[1] if c[1] is not None else 0)))
    pred, scores = linear_probe(bank_feats, y, query_feats, weight_decay=best_wd,
                                lr=lr if best_lr is None else best_lr, **common)
    return dict(pred=pred, scores=scores, weight_decay=best_wd, lr=best_lr,
                selection='validation', val_accuracy=val_acc, num_fit=int(fit_idx.numel()),
                num_val=int(val_idx.numel()), grouped=bank_groups is not None)
