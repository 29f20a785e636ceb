# Copyright (c) mmfer contributors. All rights reserved.
"""Linear probe on cached frozen features (one FC layer; LBFGS or SGD; seeded)."""
from typing import Optional, Tuple

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
