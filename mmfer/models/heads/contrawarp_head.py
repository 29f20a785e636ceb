# Copyright (c) mmfer contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmpretrain.models.heads import LatentPredictHead

from mmfer.registry import MODELS


@MODELS.register_module()
class ContraWarpHead(LatentPredictHead):
    """mmpretrain's :class:`LatentPredictHead` for the three views of ContraWarping.

    As in BYOL / SimSiam the head owns the predictor and the loss: :meth:`loss` predicts
    ``p_i = predictor(z_i)`` from the online projections of x1, x2, x3 and hands them with the
    (stop-gradient) target projections to ``loss`` (:class:`~mmfer.models.ContraWarpLoss`,
    Eqs. (2)-(4): ``-sim(1, 2)`` and ``max(sim(1, 3), s_t)``).

    Args:
        predictor (dict): The predictor, e.g. a ``NonLinearNeck``.
        loss (dict): The loss on ``(p1, p2, p3, z1, z2, z3)``. Defaults to
            ``dict(type='ContraWarpLoss', target_similarity=0.6)`` (the paper's s_t, Tab. 2).
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 predictor: dict,
                 loss: dict = dict(type='ContraWarpLoss', target_similarity=0.6),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(loss=loss, predictor=predictor, init_cfg=init_cfg)

    def loss(self, inputs: Sequence[torch.Tensor],
             targets: Sequence[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """The contrastive losses of one batch.

        Args:
            inputs (Sequence[Tensor]): Online projections ``[z1, z2, z3]`` of x1, x2, x3,
                each (N, C).
            targets (Sequence[Tensor]): Target projections of the same views, each (N, C):
                the momentum network's for BYOL, ``inputs`` themselves for SimSiam. They are
                detached (stop-gradient).

        Returns:
            dict[str, Tensor]: The loss module's output, e.g. ``loss_cont12``, ``loss_cont13``,
            ``sim12``, ``sim13``.
        """
        if len(inputs) != 3 or len(targets) != 3:
            raise ValueError(f'{type(self).__name__}.loss expects the projections of the 3 '
                             f'views x1, x2, x3, got {len(inputs)} inputs and {len(targets)} '
                             'targets')
        preds = [self.predictor([z])[0] for z in inputs]
        return self.loss_module(*preds, *(t.detach() for t in targets))
