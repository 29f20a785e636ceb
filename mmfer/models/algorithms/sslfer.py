# Copyright (c) mmfer contributors. All rights reserved.
"""SSL-FER (Shu et al., BMVC 2022): SimCLR-style instance discrimination with TimeAug / FaceSwap
positives, HardNeg negatives and MaskFN false-negative cancellation.

TimeAug, FaceSwap and HardNeg change *which images* are the views; they live in the data
pipeline (``configs/_base_/datasets/sslfer_voxceleb.py``). This module turns the views into
rows and masks (who is whose positive / negative) and hands them to the head
(:class:`~mmfer.models.heads.MaskedInfoNCEHead`); MaskFN's descriptor is the
``target_generator`` (:class:`~mmfer.models.target_generators.EyeMouthDescriptor`).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import all_gather, get_world_size
from mmpretrain.models import BaseSelfSupervisor
from mmpretrain.models.selfsup.simclr import GatherLayer
from mmpretrain.structures import DataSample
from torch import nn

from mmfer.models.target_generators import top_similar_samples
from mmfer.registry import MODELS

#: roles a view can play; ``view_roles`` in the data samples (or the model's default) names
#: one per entry of ``inputs``.
VIEW_ROLES = ('anchor', 'positive', 'hardneg', 'hardneg_positive')


@MODELS.register_module()
class SSLFER(BaseSelfSupervisor):
    """SSL-FER: backbone → 2-layer MLP projector (128-d) → masked InfoNCE head.

    **Views.** ``inputs`` is a list of V view batches (N, 3, H, W); ``view_roles`` (a
    per-sample metainfo field, or the model's ``view_roles``) names the role of each:
    ``anchor`` and ``positive`` (the positive pair; with TimeAug/FaceSwap the positive is another
    frame / a face-swapped frame, built by the pipeline), optional ``hardneg`` (a frame of the
    same video ≥ T2 apart, an extra negative of every other row) and optional
    ``hardneg_positive`` (a TimeAug positive of the hard negative, which makes the hard
    negative a full instance of the batch: the hard-negative *pair* of the paper's Fig. 4).
    ``hardneg_valid`` (bool per sample, default True) drops the hard-negative views of samples
    whose video was too short for one.

    **Rows and masks.** Every view is embedded, L2-normalised and gathered over ranks
    (SimCLR's ``GatherLayer``). Rows of one instance are positives of each other; every other
    row is a negative, hard negatives included. With a ``target_generator`` (MaskFN), the
    eye/mouth descriptors of the anchors pick, for each sample, the ``num_false_negatives``
    most similar *other samples* of the batch (never its positive, never its hard negative;
    samples without landmarks take no part); their anchor/positive rows leave the negatives of
    the sample's anchor/positive rows and become the positives of Eq. (2)'s ``L2``. The head
    computes ``L1`` (+ ``fn_loss_weight × L2``) and the instance-discrimination top-1.

    Args:
        backbone (dict): Backbone config (ResNet-50 in the paper).
        neck (dict): Projector config: ``NonLinearNeck`` with ``out_channels=128``,
            ``num_layers=2``.
        head (dict): ``MaskedInfoNCEHead`` (InfoNCE τ = 0.07, ``fn_loss_weight`` ½).
        target_generator (dict, optional): ``EyeMouthDescriptor`` for MaskFN; None disables
            MaskFN.
        use_hardneg (bool): Accept ``hardneg`` views. Defaults to False (a pipeline that makes
            them then raises, so a HardNeg pipeline is never silently paired with a model that
            was not meant for it).
        num_false_negatives (int): N_FN, samples mined per anchor (Tab. 4). Defaults to 1.
        keypoints_key (str): Data-sample field holding the anchor view's 68 landmarks, (68, 2)
            or (V, 68, 2) with one entry per view, in the anchor view's pixels. Samples without
            it take no part in MaskFN (counted in the logged ``maskfn_no_landmarks``).
            Defaults to ``'gt_keypoints'``.
        view_roles (Sequence[str], optional): Roles when the data samples carry none.
            Defaults to ``('anchor', 'positive')`` + ``'hardneg'`` + ``'hardneg_positive'``
            for a third and fourth view.
        pretrained, data_preprocessor, init_cfg: As in :class:`BaseSelfSupervisor`.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 target_generator: Optional[dict] = None,
                 use_hardneg: bool = False,
                 num_false_negatives: int = 1,
                 keypoints_key: str = 'gt_keypoints',
                 view_roles: Optional[Sequence[str]] = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head,
                         target_generator=target_generator, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if num_false_negatives < 1:
            raise ValueError(f'SSLFER: num_false_negatives must be >= 1, '
                             f'got {num_false_negatives}')
        self.use_hardneg = use_hardneg
        self.num_false_negatives = num_false_negatives
        self.keypoints_key = keypoints_key
        if view_roles is not None:
            self._check_roles(view_roles, len(view_roles))
        self.view_roles = tuple(view_roles) if view_roles is not None else None

    # ------------------------------------------------------------------ view bookkeeping
    def _check_roles(self, roles: Sequence[str], num_views: int) -> None:
        roles = list(roles)
        if len(roles) != num_views:
            raise ValueError(f'SSLFER: {num_views} views in inputs but view_roles={roles}')
        bad = [r for r in roles if r not in VIEW_ROLES]
        if bad:
            raise ValueError(f'SSLFER: unknown view roles {bad}; known: {VIEW_ROLES}')
        for r in roles:
            if roles.count(r) > 1:
                raise ValueError(f'SSLFER: view role {r!r} appears twice in {roles}')
        if 'anchor' not in roles or 'positive' not in roles:
            raise ValueError(f'SSLFER: view_roles {roles} need an anchor and a positive')
        if 'hardneg_positive' in roles and 'hardneg' not in roles:
            raise ValueError(f'SSLFER: view_roles {roles} have hardneg_positive without hardneg')
        if 'hardneg' in roles and not self.use_hardneg:
            raise ValueError(
                f'SSLFER: the pipeline produces hard-negative views (view_roles={roles}) but '
                'the model has use_hardneg=False; enable model.use_hardneg or remove the '
                'HardNeg transform from the pipeline')

    def _roles(self, num_views: int, data_samples: Optional[List[DataSample]]) -> List[str]:
        roles = None
        if data_samples:
            roles = data_samples[0].get('view_roles', None)
            if roles is not None:
                roles = [str(r) for r in roles]
                for i, ds in enumerate(data_samples):
                    other = ds.get('view_roles', None)
                    if other is None or [str(r) for r in other] != roles:
                        raise ValueError(f'SSLFER: data sample {i} has view_roles {other}, '
                                         f'sample 0 has {roles}; they must agree in a batch')
        if roles is None:
            if self.view_roles is not None:
                roles = list(self.view_roles)
            elif num_views <= len(VIEW_ROLES):
                roles = list(VIEW_ROLES[:num_views])
            else:
                raise ValueError(f'SSLFER: {num_views} views and no view_roles')
        self._check_roles(roles, num_views)
        return roles

    def _anchor_keypoints(self, data_samples: Optional[List[DataSample]], anchor_view: int,
                          n: int, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
        """(n, 68, 2) anchor landmarks (zeros where missing) and (n,) bool "has landmarks"."""
        if not data_samples:
            raise ValueError(f'SSLFER MaskFN needs data samples with {self.keypoints_key!r}')
        out = torch.zeros(n, 68, 2)
        has = torch.zeros(n, dtype=torch.bool)
        for i, ds in enumerate(data_samples):
            kpts = ds.get(self.keypoints_key, None)
            if kpts is None:
                continue
            kpts = torch.as_tensor(np.asarray(kpts), dtype=torch.float32)
            if kpts.dim() == 3:
                kpts = kpts[anchor_view]
            if kpts.shape != (68, 2):
                raise ValueError(f'SSLFER MaskFN: data sample {i} {self.keypoints_key!r} has '
                                 f'shape {tuple(kpts.shape)}, expected (68, 2) or (V, 68, 2)')
            out[i] = kpts
            has[i] = bool(torch.isfinite(kpts).all())
        if not has.any():
            raise KeyError(
                f'SSLFER MaskFN: no data sample of the batch has {self.keypoints_key!r} '
                f'(fields of sample 0: {sorted(data_samples[0].keys())}); the pipeline must '
                'pack the anchor view\'s 68 landmarks (set model.keypoints_key to its name)')
        return out.to(device), has.to(device)

    def _rows(self, roles: List[str], n: int, hn_valid: Optional[torch.Tensor],
              device: torch.device) -> Dict[str, torch.Tensor]:
        """Per-row instance id, sample index, "main view" flag and validity, over all ranks.

        Rows are ordered view by view (the order of ``torch.cat(inputs)``), then rank by rank.
        A sample's anchor/positive rows are instance ``s``, its hard-negative rows instance
        ``s + n`` (a different instance of the same sample).
        """
        idx = torch.arange(n, device=device)
        ones = torch.ones(n, dtype=torch.bool, device=device)
        hard = [r.startswith('hardneg') for r in roles]
        rows = dict(
            inst=torch.cat([idx + (n if h else 0) for h in hard]),
            sample=idx.repeat(len(roles)),
            main=torch.cat([ones & (not h) for h in hard]),
            valid=torch.cat([hn_valid if h else ones for h in hard]))
        world = get_world_size()
        if world > 1:
            offsets = [r * n for r in range(world)]
            rows['inst'] = torch.cat([i + 2 * o for i, o in
                                      zip(all_gather(rows['inst']), offsets)])
            rows['sample'] = torch.cat([s + o for s, o in
                                        zip(all_gather(rows['sample']), offsets)])
            rows['main'] = torch.cat(all_gather(rows['main']))
            rows['valid'] = torch.cat(all_gather(rows['valid']))
        return rows

    @staticmethod
    def build_masks(inst: torch.Tensor, sample: torch.Tensor, main: torch.Tensor,
                    fn_samples: Optional[torch.Tensor]
                    ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """Positive / negative / false-negative masks over the R rows.

        Args:
            inst (Tensor): (R,) instance id of each row (rows of one instance are positives).
            sample (Tensor): (R,) global sample index of each row.
            main (Tensor): (R,) bool, row is an anchor/positive view (not a hard negative).
            fn_samples (Tensor, optional): (S, N_FN) mined false-negative sample indices per
                sample (S = samples in the gathered batch), -1 for none.

        Returns:
            tuple: ``pos`` (R, R), ``neg`` (R, R), ``fn`` (R, R) or None.
        """
        eye = torch.eye(len(inst), dtype=torch.bool, device=inst.device)
        same = inst[:, None] == inst[None, :]
        pos = same & ~eye
        neg = ~same
        fn = None
        if fn_samples is not None:
            # fn[r, c]: c is a main view of one of the samples mined for r's sample
            num = len(fn_samples)
            mined = torch.zeros(num, num + 1, dtype=torch.bool, device=inst.device)
            mined.scatter_(1, torch.where(fn_samples < 0, num, fn_samples), True)  # -1: none
            mined = mined[:, :num]
            fn = mined[sample][:, sample] & main[None, :] & main[:, None] & neg
            neg = neg & ~fn
        return pos, neg, fn

    def mine_false_negatives(self, inputs: List[torch.Tensor], roles: List[str],
                             data_samples: Optional[List[DataSample]]
                             ) -> Tuple[torch.Tensor, torch.Tensor]:
        """MaskFN: (S, N_FN) mined samples for every gathered sample, and the number of
        samples without landmarks."""
        anchor = roles.index('anchor')
        n, device = inputs[anchor].size(0), inputs[anchor].device
        kpts, has_kpts = self._anchor_keypoints(data_samples, anchor, n, device)
        desc = self.target_generator(inputs[anchor].detach(), kpts)  # (n, D)
        if get_world_size() > 1:
            desc = torch.cat(all_gather(desc), dim=0)
            has_kpts = torch.cat(all_gather(has_kpts), dim=0)
        return top_similar_samples(desc, self.num_false_negatives, has_kpts), \
            (~has_kpts).sum().float()

    # ------------------------------------------------------------------ loss
    def loss(self, inputs: List[torch.Tensor], data_samples: Optional[List[DataSample]] = None,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Args:
            inputs (list[Tensor]): V views, each (N, 3, H, W).
            data_samples (list[DataSample], optional): N samples with ``view_roles``,
                ``hardneg_valid`` and (MaskFN) the anchor landmarks.

        Returns:
            dict: the head's ``loss_l1`` (+ ``loss_fn``, ``acc_inst``); with MaskFN also
            ``maskfn_no_landmarks``, with hard negatives ``num_hardneg`` (valid hard-negative
            instances in the gathered batch); the last two are logged only.
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError('SSLFER: inputs must be a list of >= 2 view batches')
        roles = self._roles(len(inputs), data_samples)
        n, device = inputs[0].size(0), inputs[0].device
        hn_valid = None
        if 'hardneg' in roles:
            flags = [ds.get('hardneg_valid', True) for ds in data_samples] if data_samples \
                else [True] * n
            hn_valid = torch.as_tensor([bool(v) for v in flags], dtype=torch.bool,
                                       device=device)

        z = F.normalize(self.neck(self.backbone(torch.cat(list(inputs))))[0], dim=1, eps=1e-10)
        if get_world_size() > 1:
            z = torch.cat(GatherLayer.apply(z), dim=0)
        rows = self._rows(roles, n, hn_valid, device)

        extra, fn_samples = {}, None
        if self.with_target_generator:
            fn_samples, extra['maskfn_no_landmarks'] = self.mine_false_negatives(
                inputs, roles, data_samples)
        if 'hardneg' in roles:
            extra['num_hardneg'] = (rows['valid'] & ~rows['main']).sum().float() / (
                2 if 'hardneg_positive' in roles else 1)

        keep = rows['valid'].nonzero(as_tuple=True)[0]  # drop missing hard negatives
        pos, neg, fn = self.build_masks(rows['inst'][keep], rows['sample'][keep],
                                        rows['main'][keep], fn_samples)
        losses = self.head.loss(z[keep], pos, neg, fn)
        losses.update(extra)
        return losses
