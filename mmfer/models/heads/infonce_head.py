# Copyright (c) mmfer contributors. All rights reserved.
"""The contrastive head of SSL-FER: InfoNCE with positive / negative / false-negative masks."""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule

from mmfer.registry import MODELS


@MODELS.register_module()
class MaskedInfoNCEHead(BaseModule):
    r"""InfoNCE over the rows of a batch of embeddings, with masks saying who is who.

    With ``s = z zᵀ`` (cosine similarities of the L2-normalised rows) and, per row ``r``, its
    positives ``P(r)``, negatives ``Neg(r)`` and (MaskFN) mined false negatives ``FN(r)``
    (removed from ``Neg(r)`` by the caller), the losses are SSL-FER's Eq. (2):

    .. math::
        L_1 = \mathbb{E}_r \frac{1}{|P(r)|}\sum_{p\in P(r)}
              -\log\frac{e^{s_{rp}/\tau}}{e^{s_{rp}/\tau} + \sum_{n\in Neg(r)} e^{s_{rn}/\tau}},
        \qquad L_2 = \text{the same with } FN(r) \text{ in place of } P(r)

    computed by ``loss`` (an :class:`~mmfer.models.losses.InfoNCELoss`, τ = 0.07), and the
    total ``L1 + w L2`` with ``w = fn_loss_weight`` (½ in the paper).

    Also returned (logged, not optimised): ``acc_inst``, the instance-discrimination top-1
    accuracy in percent, i.e. the share of (row, positive) pairs whose similarity is above
    every negative of the row (SimCLR's top-1 with the positive as label 0). SSL-FER's
    checkpoint rule and its Tab. 3 read this number.

    Args:
        loss (dict): The InfoNCE loss. Defaults to ``InfoNCELoss(temperature=0.07)``.
        fn_loss_weight (float): Weight of ``L2``. Defaults to 0.5.
        init_cfg (dict, optional): Initialisation config (the head has no parameters).
    """

    def __init__(self, loss: dict = dict(type='InfoNCELoss', temperature=0.07),
                 fn_loss_weight: float = 0.5, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.loss_module = MODELS.build(loss)
        self.fn_loss_weight = float(fn_loss_weight)

    @staticmethod
    @torch.no_grad()
    def instance_accuracy(sim: torch.Tensor, pos_mask: torch.Tensor,
                          neg_mask: torch.Tensor) -> torch.Tensor:
        """Top-1 instance discrimination (%): a positive beats every negative of its row."""
        neg_inf = torch.finfo(sim.dtype).min
        max_neg = sim.masked_fill(~neg_mask, neg_inf).max(dim=1, keepdim=True).values
        correct = (sim > max_neg) & pos_mask
        return 100. * correct.sum().float() / pos_mask.sum().clamp_min(1).float()

    def loss(self, z: torch.Tensor, pos_mask: torch.Tensor, neg_mask: torch.Tensor,
             fn_mask: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Args:
            z (Tensor): (R, D) L2-normalised embeddings of every row (all views, all ranks).
            pos_mask (Tensor): (R, R) bool, positives of each row.
            neg_mask (Tensor): (R, R) bool, negatives of each row (false negatives removed).
            fn_mask (Tensor, optional): (R, R) bool, mined false negatives (MaskFN).

        Returns:
            dict: ``loss_l1``, ``loss_fn`` (``fn_loss_weight`` × L2, with ``fn_mask``) and
            ``acc_inst``.
        """
        if z.dim() != 2 or pos_mask.shape != (len(z), len(z)):
            raise ValueError(f'MaskedInfoNCEHead: z must be (R, D) and the masks (R, R), got '
                             f'{tuple(z.shape)} and {tuple(pos_mask.shape)}')
        sim = z @ z.t()
        losses = dict(loss_l1=self.loss_module(sim, pos_mask, neg_mask))
        if fn_mask is not None:
            losses['loss_fn'] = self.fn_loss_weight * self.loss_module(sim, fn_mask, neg_mask)
        losses['acc_inst'] = self.instance_accuracy(sim.detach(), pos_mask.bool(),
                                                    neg_mask.bool())
        return losses
