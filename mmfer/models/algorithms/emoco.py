# Copyright (c) mmfer contributors. All rights reserved.
"""EmoCo (Sun, Zeng, Shan, FG 2021): emotion-aware MoCo for facial AU detection."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather
from mmengine.model import ExponentialMovingAverage
from mmpretrain.models import BaseSelfSupervisor
from mmpretrain.structures import DataSample
from torch import nn

from mmfer.models.utils import intra_class_normalize, momentum_keys
from mmfer.registry import MODELS


@MODELS.register_module()
class EmoCo(BaseSelfSupervisor):
    r"""EmoCo: MoCo v2 with one key queue per emotion, an emotion classifier and intra-class
    normalisation.

    - online encoder = backbone + 2-layer MLP (``MoCoV2Neck`` 2048 → 2048 → 128), L2-normalised
      → q (N, 128); momentum encoder (mmengine EMA of backbone + neck, m = 0.999 i.e.
      ``momentum=0.001``, Eq. 3) on the second view with MoCo's shuffled BN
      (:func:`~mmfer.models.utils.momentum_keys`) → k+ (N, 128);
    - ``emo_head``: the emotion classifier C (:class:`~mmfer.models.heads.EmotionClsHead`, one
      bias-free FC on q, cross-entropy, λ = its ``loss_weight``; Eq. 2);
    - dictionary ``queue`` (Q, K, 128): Q = ``num_classes`` queues of K keys (one per emotion,
      MQ) or Q = 1 (one MoCo queue); after each step the keys, gathered over all ranks with
      their labels, go into their class's queue (ring buffer, one pointer per queue);
    - ``head`` (mmpretrain's ``ContrastiveHead``, τ = 0.2): L_cont of Eq. (5) on the logits
      ``⟨N(q), N(k+)⟩`` and ``⟨N(q), N(k-)⟩`` for the negatives ``k-`` of the query's queue,
      with :math:`N(v) = (v - \tilde w_y) / \|v - \tilde w_y\|` (Eq. 4,
      :func:`~mmfer.models.utils.intra_class_normalize`, :math:`\tilde w_y` = C's prototype of
      the query's class y) or, with ``use_intra_norm=False``, the plain L2-normalised vectors.
      With a single queue (MQ off) and N on, every negative is normalised with the centre of
      the **query's** class: the queue holds keys of every class, the paper does not say which
      centre their N uses, and the query's keeps all logits of a row in one emotion-specific
      space (the same space as with MQ).

    Total loss ``L_cont + λ L_emo`` (Eq. 1). The Table IV switches are the parts present:
    ``head=None`` (no L_cont: plain emotion classification, no queue, no momentum encoder),
    ``emo_head=None`` (no L_emo: plain MoCo with per-emotion queues; N needs C's prototypes, so
    it must be off), ``use_multi_queue`` (MQ) and ``use_intra_norm`` (N).

    Args:
        backbone (dict): Backbone config (ResNet-50 in the paper).
        neck (dict): Projection MLP config (2048 hidden, 128 out).
        head (dict, optional): ``ContrastiveHead`` (``CrossEntropyLoss``, ``temperature=0.2``);
            None disables L_cont.
        emo_head (dict, optional): ``EmotionClsHead``; None disables L_emo.
        num_classes (int): Emotion classes (7 basic AffectNet classes). Defaults to 7.
        queue_len (int): K, keys per queue. Defaults to 65536.
        feat_dim (int): Embedding size. Defaults to 128.
        momentum (float): mmengine EMA momentum (1 - m). Defaults to 0.001.
        use_multi_queue (bool): MQ. Defaults to True.
        use_intra_norm (bool): N (intra-class vs plain L2 normalisation). Defaults to True.
        pretrained, data_preprocessor, init_cfg: As in :class:`BaseSelfSupervisor`.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: Optional[dict] = None,
                 emo_head: Optional[dict] = None,
                 num_classes: int = 7,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 momentum: float = 0.001,
                 use_multi_queue: bool = True,
                 use_intra_norm: bool = True,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        if head is None and emo_head is None:
            raise ValueError('EmoCo: needs head (L_cont) or emo_head (L_emo), or both')
        if use_intra_norm and emo_head is None:
            raise ValueError('EmoCo: use_intra_norm=True needs emo_head, whose weight rows are '
                             'the class centres of the intra-class normalisation; without '
                             'L_emo set use_intra_norm=False (plain multi-queue MoCo)')
        if num_classes < 2 or queue_len < 1:
            raise ValueError(f'EmoCo: need num_classes >= 2 and queue_len >= 1, got '
                             f'{num_classes}, {queue_len}')
        super().__init__(backbone=backbone, neck=neck, head=head, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.emo_head = MODELS.build(emo_head) if isinstance(emo_head, dict) else emo_head
        if self.emo_head is not None and self.emo_head.num_classes != num_classes:
            raise ValueError(f'EmoCo: emo_head has {self.emo_head.num_classes} classes, the '
                             f'model {num_classes}')
        self.num_classes = num_classes
        self.queue_len = queue_len
        self.use_multi_queue = use_multi_queue
        self.use_intra_norm = use_intra_norm
        if self.with_head:
            self.encoder_k = ExponentialMovingAverage(
                nn.Sequential(self.backbone, self.neck), momentum)
            num_queues = num_classes if use_multi_queue else 1
            self.register_buffer(
                'queue', F.normalize(torch.randn(num_queues, queue_len, feat_dim), dim=2))
            self.register_buffer('queue_ptr', torch.zeros(num_queues, dtype=torch.long))

    @staticmethod
    def _labels(data_samples: List[DataSample], device: torch.device) -> torch.Tensor:
        labels = []
        for i, ds in enumerate(data_samples):
            if 'gt_label' not in ds:
                raise KeyError(f'EmoCo: data sample {i} has no gt_label (EmoCo pre-trains on '
                               'labelled faces; pack gt_label with PackInputs)')
            lab = ds.gt_label
            labels.append(int(lab.view(-1)[0]) if torch.is_tensor(lab) else int(lab))
        return torch.tensor(labels, dtype=torch.long, device=device)

    @torch.no_grad()
    def _dequeue_and_enqueue(self, keys: torch.Tensor, labels: torch.Tensor) -> None:
        """Gather keys and labels over ranks and write each key into its class's queue.

        Args:
            keys (Tensor): (N, D) local keys.
            labels (Tensor): (N,) local labels (ignored with a single queue).
        """
        keys = torch.cat(all_gather(keys), dim=0)
        if self.use_multi_queue:
            labels = torch.cat(all_gather(labels), dim=0)
        else:
            labels = torch.zeros(keys.size(0), dtype=torch.long, device=keys.device)
        for q in torch.unique(labels).tolist():
            k = keys[labels == q][-self.queue_len:]  # more keys than K: the newest K survive
            n = k.size(0)
            ptr = int(self.queue_ptr[q])
            idx = (torch.arange(n, device=keys.device) + ptr) % self.queue_len
            self.queue[q, idx] = k.to(self.queue.dtype)
            self.queue_ptr[q] = (ptr + n) % self.queue_len

    def contrastive_logits(self, q: torch.Tensor, k: torch.Tensor, labels: torch.Tensor):
        """Positive (N, 1) and negative (N, K) logits of Eq. (5), before the temperature.

        Args:
            q (Tensor): (N, D) L2-normalised queries.
            k (Tensor): (N, D) L2-normalised positive keys.
            labels (Tensor): (N,) emotion labels: the query's queue (MQ) and centre (N).
        """
        if self.use_intra_norm:
            weight = self.emo_head.weight

            def norm(v, y):
                return intra_class_normalize(v, weight, y)
        else:
            def norm(v, y):
                return v
        qn = norm(q, labels)
        l_pos = (qn * norm(k, labels)).sum(dim=1, keepdim=True)
        queue = self.queue.clone().detach()
        l_neg = q.new_empty(q.size(0), self.queue_len)
        for c in torch.unique(labels).tolist():
            rows = labels == c
            negs = queue[c if self.use_multi_queue else 0]  # (K, D)
            negs = norm(negs, torch.full((negs.size(0), ), c, dtype=torch.long,
                                         device=negs.device))
            l_neg[rows] = qn[rows] @ negs.t()
        return l_pos, l_neg

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Args:
            inputs (list[Tensor]): two views (N, 3, H, W): query and key images.
            data_samples (list[DataSample]): N samples with ``gt_label``.

        Returns:
            dict: ``loss_cont`` (with ``head``), ``loss_emo`` and ``acc_emo`` (with
            ``emo_head``).
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError('EmoCo: inputs must be a list of 2 views')
        im_q, im_k = inputs
        labels = self._labels(data_samples, im_q.device)
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f'EmoCo: labels must be in [0, {self.num_classes}), got '
                             f'{labels.tolist()}')
        q = F.normalize(self.neck(self.backbone(im_q))[0], dim=1)
        losses = {}
        if self.emo_head is not None:
            losses.update(self.emo_head.loss(q, labels))
        if self.with_head:
            with torch.no_grad():
                self.encoder_k.update_parameters(nn.Sequential(self.backbone, self.neck))
            k = momentum_keys(self.encoder_k, im_k)
            losses['loss_cont'] = self.head.loss(*self.contrastive_logits(q, k, labels))
            self._dequeue_and_enqueue(k, labels)
        return losses
