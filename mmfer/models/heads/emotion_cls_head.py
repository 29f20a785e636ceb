# Copyright (c) mmfer contributors. All rights reserved.
"""EmoCo's emotion classifier C (Sun, Zeng, Shan, FG 2021, Eq. (2))."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from mmfer.registry import MODELS


@MODELS.register_module()
class EmotionClsHead(BaseModule):
    r"""One bias-free linear layer on the embedding q, trained with cross-entropy (Eq. 2).

    .. math::
        L_{emo} = -\log \frac{\exp(w_y \cdot q)}{\sum_j \exp(w_j \cdot q)},
        \qquad W \in \mathbb{R}^{C \times D}

    No bias: only C's weight rows enter EmoCo's intra-class normalisation (their directions
    :math:`\tilde w_y = w_y / \|w_y\|` are the class prototypes, :meth:`prototypes`), and a bias
    would let C fit class priors without moving those directions.

    Args:
        num_classes (int): Emotion classes C (7 basic AffectNet expressions in the paper).
        in_channels (int): Embedding size D (128).
        loss (dict): Classification loss; its ``loss_weight`` is λ of Eq. (1). Defaults to
            ``CrossEntropyLoss(loss_weight=1.0)``.
        init_cfg (dict, optional): Initialisation config (default: PyTorch's Linear init).
    """

    def __init__(self, num_classes: int, in_channels: int = 128,
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes < 2:
            raise ValueError(f'EmotionClsHead: num_classes must be >= 2, got {num_classes}')
        self.num_classes = num_classes
        self.fc = nn.Linear(in_channels, num_classes, bias=False)
        self.loss_module = MODELS.build(loss)

    @property
    def weight(self) -> torch.Tensor:
        """(C, D) classifier weight W (gradients flow into it)."""
        return self.fc.weight

    def prototypes(self) -> torch.Tensor:
        """(C, D) L2-normalised rows of W: the class centres of the intra-class normalisation."""
        return F.normalize(self.fc.weight, dim=1)

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        """(N, D) embeddings → (N, C) logits ``W q``."""
        return self.fc(q)

    def loss(self, q: torch.Tensor, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Args:
            q (Tensor): (N, D) embeddings.
            labels (Tensor): (N,) int64 emotion labels.

        Returns:
            dict: ``loss_emo`` (λ L_emo) and ``acc_emo`` (batch accuracy, logged only).
        """
        logits = self(q)
        return dict(loss_emo=self.loss_module(logits, labels),
                    acc_emo=(logits.argmax(1) == labels).float().mean().detach())
