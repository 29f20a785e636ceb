# Copyright (c) mmfer contributors. All rights reserved.
"""MLP heads of the SSL-FER downstream protocols (3-layer MLP on a frozen/fine-tuned encoder)."""
from typing import List, Optional, Tuple, Union

import torch
from mmpretrain.models.heads import ClsHead
from torch import nn

from mmfer.registry import MODELS
from .va_regression_head import VARegressionHead


def build_mlp(in_channels: int, out_channels: int, hid_channels: Union[int, List[int]] = 512,
              num_layers: int = 3, with_bn: bool = True, dropout: float = 0.) -> nn.Sequential:
    """``num_layers`` linear layers: [Linear → (BN1d) → ReLU → (Dropout)] × (L-1) → Linear.

    Args:
        in_channels (int): Input size.
        out_channels (int): Output size.
        hid_channels (int | list[int]): Hidden size(s); a list gives one per hidden layer.
        num_layers (int): Linear layers (1 = plain linear). Defaults to 3.
        with_bn (bool): BatchNorm1d after hidden linears. Defaults to True.
        dropout (float): Dropout after hidden activations. Defaults to 0.
    """
    if num_layers < 1:
        raise ValueError(f'build_mlp: num_layers must be >= 1, got {num_layers}')
    hids = list(hid_channels) if isinstance(hid_channels, (list, tuple)) \
        else [hid_channels] * (num_layers - 1)
    if len(hids) != num_layers - 1:
        raise ValueError(f'build_mlp: {num_layers} layers need {num_layers - 1} hidden sizes, '
                         f'got {hids}')
    layers, c = [], in_channels
    for h in hids:
        layers.append(nn.Linear(c, h, bias=not with_bn))
        if with_bn:
            layers.append(nn.BatchNorm1d(h))
        layers.append(nn.ReLU(inplace=True))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        c = h
    layers.append(nn.Linear(c, out_channels))
    return nn.Sequential(*layers)


def _last_feat(feats: Tuple[torch.Tensor], in_channels: int, name: str) -> torch.Tensor:
    x = feats[-1] if isinstance(feats, (tuple, list)) else feats
    if x.dim() == 4:  # no neck: global average pooling here
        x = x.mean(dim=(2, 3))
    if x.dim() != 2 or x.shape[1] != in_channels:
        raise ValueError(f'{name}(in_channels={in_channels}) got features of shape '
                         f'{tuple(x.shape)}; set model.head.in_channels to the feature size')
    return x


@MODELS.register_module()
class MLPClsHead(ClsHead):
    """Classification head with an MLP (SSL-FER: 3 layers) instead of one linear layer.

    ``(N, C)`` or ``(N, C, H, W)`` (pooled) features → ``(N, num_classes)`` logits; loss,
    accuracy and prediction are mmpretrain's ``ClsHead`` (e.g. with
    ``loss=dict(type='BalancedSoftmaxLoss', class_counts=...)``).

    Args:
        num_classes (int): Classes.
        in_channels (int): Feature size.
        hid_channels (int | list[int]): Hidden size(s). Defaults to 512.
        num_layers (int): Linear layers. Defaults to 3.
        with_bn (bool): BatchNorm in hidden layers. Defaults to True.
        dropout (float): Hidden dropout. Defaults to 0.
        **kwargs: ``loss``, ``topk``, ``cal_acc``, ``init_cfg`` of ``ClsHead``.
    """

    def __init__(self, num_classes: int, in_channels: int,
                 hid_channels: Union[int, List[int]] = 512, num_layers: int = 3,
                 with_bn: bool = True, dropout: float = 0., **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.mlp = build_mlp(in_channels, num_classes, hid_channels, num_layers, with_bn,
                             dropout)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return _last_feat(feats, self.in_channels, type(self).__name__)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """(N, in_channels) → (N, num_classes)."""
        return self.mlp(self.pre_logits(feats))


@MODELS.register_module()
class MLPVAHead(VARegressionHead):
    """Valence/arousal regression with an MLP (SSL-FER's 3-layer head) and the CCC loss.

    :class:`VARegressionHead` (targets ``gt_va``, predictions ``pred_va``, invalid targets
    masked, tanh output) with its linear layer replaced by :func:`build_mlp`.

    Args:
        in_channels (int): Feature size.
        hid_channels (int | list[int]): Hidden size(s). Defaults to 512.
        num_layers (int): Linear layers. Defaults to 3.
        with_bn (bool): BatchNorm in hidden layers. Defaults to True.
        dropout (float): Hidden dropout. Defaults to 0.
        **kwargs: ``num_outputs``, ``loss``, ``activation``, ``valid_range``, ``init_cfg``.
    """

    def __init__(self, in_channels: int, hid_channels: Union[int, List[int]] = 512,
                 num_layers: int = 3, with_bn: bool = True, dropout: float = 0.,
                 init_cfg: Optional[dict] = None, **kwargs) -> None:
        super().__init__(in_channels=in_channels, init_cfg=init_cfg, **kwargs)
        self.fc = build_mlp(in_channels, self.num_outputs, hid_channels, num_layers, with_bn,
                            dropout)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return _last_feat(feats, self.in_channels, type(self).__name__)
