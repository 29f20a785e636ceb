# Copyright (c) mmfer contributors. All rights reserved.
"""EmoCo (Sun, Zeng, Shan, FG 2021): emotion-aware MoCo v2 for facial AU detection."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather
from mmpretrain.models import MoCo
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from mmpretrain.structures import DataSample
from torch import nn

from mmfer.models.utils.intra_class_norm import intra_class_normalize
from mmfer.registry import MODELS


@MODELS.register_module()
class EmoCo(MoCo):
    r"""EmoCo on mmpretrain's MoCo (v2) pieces.

    - online encoder f_q = backbone + 2-layer MLP (``NonLinearNeck``/``MoCoV2Neck`` 2048 → 128),
      L2-normalised → q (N, 128); momentum encoder f_k (EMA, m = 0.999, i.e. mmengine
      ``momentum=0.001``) on the second view with MoCo's DDP batch shuffle → k+ (N, 128);
    - emotion classifier C: one ``nn.Linear(128, num_classes, bias=False)`` on q trained with
      cross-entropy (weight λ = ``emo_loss_weight`` = 1). No bias: only C's weight rows enter
      the intra-class normalisation, and a bias would let C fit class priors without moving
      the class directions :math:`\tilde w_y` that the normalisation uses;
    - multi-queue dictionary ``queue`` (Q, K, 128), Q = ``num_classes`` queues of K keys (one
      per emotion, MQ) or Q = 1 (single MoCo queue); after each step the keys, gathered over
      all ranks with their labels, are enqueued into their class's queue (ring buffer, pointer
      per queue), so every rank keeps identical queues;
    - contrastive loss (Eq. 4-5), for a query of class y with negatives ``Q_y`` (its own
      class's queue with MQ, the whole queue without):

      .. math::
          L_{cont} = -\log \frac{e^{N(q)\cdot N(k_+)/\tau}}{e^{N(q)\cdot N(k_+)/\tau}
          + \sum_{k_-\in Q_y} e^{N(q)\cdot N(k_-)/\tau}}, \quad
          N(v) = \frac{v - \tilde w_y}{\|v - \tilde w_y\|}

      with τ = 0.2 (``head.temperature``) and :func:`intra_class_normalize` (N) or the plain
      L2 normalisation (``use_intra_norm=False``); total ``L_cont + λ L_emo``.

    Args:
        backbone (dict): Backbone config (ResNet-50 in the paper).
        neck (dict): Projection MLP config (2048 hidden, 128 out).
        head (dict): ``ContrastiveHead`` with ``CrossEntropyLoss`` and ``temperature=0.2``.
        num_classes (int): Emotion classes (7 basic AffectNet classes). Defaults to 7.
        queue_len (int): K, keys per queue. Defaults to 65536.
        feat_dim (int): Embedding size. Defaults to 128.
        momentum (float): mmengine EMA momentum (1 - m). Defaults to 0.001.
        use_multi_queue (bool): MQ switch (Table IV). Defaults to True.
        use_cont_loss (bool): L_cont switch. Defaults to True.
        use_emo_loss (bool): L_emo switch. Defaults to True.
        use_intra_norm (bool): N switch (intra-class vs plain L2). Defaults to True.
        emo_loss_weight (float): λ. Defaults to 1.0.
        classifier_bias (bool): Bias in C. Defaults to False.
        data_preprocessor (dict, optional): ``SelfSupDataPreprocessor`` config.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 num_classes: int = 7,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 momentum: float = 0.001,
                 use_multi_queue: bool = True,
                 use_cont_loss: bool = True,
                 use_emo_loss: bool = True,
                 use_intra_norm: bool = True,
                 emo_loss_weight: float = 1.0,
                 classifier_bias: bool = False,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        if not (use_cont_loss or use_emo_loss):
            raise ValueError('EmoCo: at least one of use_cont_loss / use_emo_loss must be on')
        if num_classes < 2 or queue_len < 1:
            raise ValueError(f'EmoCo: need num_classes >= 2 and queue_len >= 1, got '
                             f'{num_classes}, {queue_len}')
        # MoCo builds a (feat_dim, queue_len) queue; ours replaces it, so ask for a tiny one.
        super().__init__(backbone=backbone, neck=neck, head=head, queue_len=1,
                         feat_dim=feat_dim, momentum=momentum, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        del self.queue, self.queue_ptr
        self.num_classes = num_classes
        self.queue_len = queue_len
        self.feat_dim = feat_dim
        self.use_multi_queue = use_multi_queue
        self.use_cont_loss = use_cont_loss
        self.use_emo_loss = use_emo_loss
        self.use_intra_norm = use_intra_norm
        self.emo_loss_weight = emo_loss_weight
        self.classifier = nn.Linear(feat_dim, num_classes, bias=classifier_bias)
        num_queues = num_classes if use_multi_queue else 1
        self.register_buffer('queue',
                             F.normalize(torch.randn(num_queues, queue_len, feat_dim), dim=2))
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
    def _dequeue_and_enqueue(self, keys: torch.Tensor,
                             labels: Optional[torch.Tensor] = None) -> None:
        """Gather keys (and labels) over ranks and write each into its class's queue.

        Args:
            keys (Tensor): (N, D) local keys.
            labels (Tensor, optional): (N,) local labels; required with multi-queue.
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
        """Positive (N, 1) and negative (N, K') logits before the temperature.

        Args:
            q (Tensor): (N, D) L2-normalised queries.
            k (Tensor): (N, D) L2-normalised positive keys.
            labels (Tensor): (N,) emotion labels.
        """
        weight = self.classifier.weight
        norm = (lambda v, y: intra_class_normalize(v, weight, y)) if self.use_intra_norm \
            else (lambda v, y: v)
        qn, kn = norm(q, labels), norm(k, labels)
        l_pos = (qn * kn).sum(dim=1, keepdim=True)
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
            dict: ``loss_cont`` and/or ``loss_emo`` (λ-weighted), ``acc_emo`` (logged).
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
        if self.use_emo_loss:
            cls_logits = self.classifier(q)
            losses['loss_emo'] = self.emo_loss_weight * F.cross_entropy(cls_logits, labels)
            losses['acc_emo'] = (cls_logits.argmax(1) == labels).float().mean().detach()
        if self.use_cont_loss:
            with torch.no_grad():
                self.encoder_k.update_parameters(nn.Sequential(self.backbone, self.neck))
                im_k, idx_unshuffle = batch_shuffle_ddp(im_k)
                k = F.normalize(self.encoder_k(im_k)[0], dim=1)
                k = batch_unshuffle_ddp(k, idx_unshuffle)
            l_pos, l_neg = self.contrastive_logits(q, k, labels)
            losses['loss_cont'] = self.head.loss(l_pos, l_neg)
            self._dequeue_and_enqueue(k, labels)
        return losses
