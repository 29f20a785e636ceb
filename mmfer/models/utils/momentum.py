# Copyright (c) mmfer contributors. All rights reserved.
"""Keys of a momentum (EMA) encoder with MoCo's shuffled BN, shared by the MoCo-style
algorithms (EmoCo, ContraWarp-MoCo v2)."""
import torch
from torch import nn
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp


@torch.no_grad()
def momentum_keys(momentum_encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """L2-normalised keys of ``x`` from the momentum encoder, with shuffled BN.

    Exactly the key step of mmpretrain's ``MoCo.loss`` (``moco.py:116-123``): the batch is
    shuffled across ranks (``batch_shuffle_ddp``) so that BatchNorm statistics cannot leak
    which key belongs to which query, encoded, normalised and unshuffled. No gradient.

    The EMA update is **not** done here: the caller updates the encoder first, once per step,
    as MoCo does (``momentum_encoder.update_parameters(nn.Sequential(backbone, neck))``), and
    may then call this function for several views.

    Args:
        momentum_encoder (nn.Module): e.g. mmengine's ``ExponentialMovingAverage`` of
            ``nn.Sequential(backbone, neck)``; its output's first element is (N, D).
        x (Tensor): (N, C, H, W) images of this rank.

    Returns:
        Tensor: (N, D) unit-norm keys, in the order of ``x``.
    """
    x, idx_unshuffle = batch_shuffle_ddp(x)
    k = nn.functional.normalize(momentum_encoder(x)[0], dim=1)
    return batch_unshuffle_ddp(k, idx_unshuffle)
