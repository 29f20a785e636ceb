# Copyright (c) mmfer contributors. All rights reserved.
"""SSL-FER (Shu et al., BMVC 2022): SimCLR with TimeAug / FaceSwap positives, HardNeg
negatives and MaskFN false-negative cancellation.

TimeAug and FaceSwap only change *which image* is the positive view; they live in the data
pipeline (``configs/_base_/datasets/sslfer_voxceleb.py``). HardNeg and MaskFN change the loss
and are switched here (``use_hardneg``, ``use_maskfn``).
"""
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import all_gather, get_rank, get_world_size
from mmengine.logging import print_log
from mmpretrain.models import SimCLR
from mmpretrain.models.selfsup.simclr import GatherLayer
from mmpretrain.structures import DataSample
from torch import nn

from mmfer.models.losses.infonce import info_nce
from mmfer.registry import MODELS
from mmfer.utils import load_checkpoint_file

#: iBUG 300-W 68-point indices: brows (17-26) + eyes (36-47), and the mouth (48-67).
EYE_REGION_IDX = tuple(range(17, 27)) + tuple(range(36, 48))
MOUTH_REGION_IDX = tuple(range(48, 68))

#: roles a view can play; ``view_roles`` in the data samples (or the model's default) names
#: one per entry of ``inputs``.
VIEW_ROLES = ('anchor', 'positive', 'hardneg', 'hardneg_positive')


class EyeMouthDescriptor(nn.Module):
    """Frozen ImageNet ResNet-18 describing the eye and mouth regions of faces (MaskFN).

    The eye region (brows + eyes) and the mouth region are cut out of the (normalised) input
    tensor with ``torchvision.ops.roi_align`` around the 68-point landmarks, each is passed
    through ResNet-18 up to global average pooling (512-d) and the two are concatenated and
    L2-normalised: (N, 3, H, W) + (N, 68, 2) -> (N, 1024).

    Args:
        checkpoint (str, optional): Local path of torchvision's ``resnet18`` ImageNet weights
            (``resnet18-f37072fd.pth``, a plain state dict). Required unless
            ``allow_random_descriptor=True``.
        allow_random_descriptor (bool): Accept random weights when ``checkpoint`` is None.
            MaskFN is meaningless then; a loud warning is issued. Only for tests/debugging.
        eye_size (tuple[int, int]): (h, w) of the eye crop. Defaults to (48, 112).
        mouth_size (tuple[int, int]): (h, w) of the mouth crop. Defaults to (56, 96).
        pad (float): Box padding as a fraction of the landmark box size. Defaults to 0.15.
    """

    def __init__(self, checkpoint: Optional[str] = None, allow_random_descriptor: bool = False,
                 eye_size: Tuple[int, int] = (48, 112), mouth_size: Tuple[int, int] = (56, 96),
                 pad: float = 0.15) -> None:
        super().__init__()
        import torchvision
        net = torchvision.models.resnet18(weights=None)
        if checkpoint is not None:
            if not osp.isfile(checkpoint):
                raise FileNotFoundError(
                    f'SSLFER MaskFN descriptor weights {checkpoint} do not exist; give the '
                    'local path of torchvision\'s resnet18 ImageNet weights '
                    '(resnet18-f37072fd.pth)')
            state = load_checkpoint_file(checkpoint, map_location='cpu')
            if isinstance(state, dict) and 'state_dict' in state:
                state = state['state_dict']
            missing, unexpected = net.load_state_dict(state, strict=False)
            missing = [k for k in missing if not k.startswith('fc.')]
            if missing or unexpected:
                raise ValueError(
                    f'{checkpoint} is not a torchvision resnet18 state dict: missing keys '
                    f'{missing[:5]}{"..." if len(missing) > 5 else ""}, unexpected keys '
                    f'{unexpected[:5]}{"..." if len(unexpected) > 5 else ""}')
        elif allow_random_descriptor:
            msg = ('!!! SSLFER MaskFN runs with a RANDOMLY INITIALISED ResNet-18 descriptor '
                   '(descriptor_checkpoint=None, allow_random_descriptor=True): the mined '
                   '"false negatives" are NOT expression-similar faces and MaskFN is '
                   'meaningless. Set model.descriptor_checkpoint to torchvision\'s '
                   'resnet18 ImageNet weights for real runs. !!!')
            warnings.warn(msg)
            print_log(msg, logger='current', level=30)
        else:
            raise ValueError(
                'SSLFER use_maskfn=True needs the ImageNet ResNet-18 descriptor weights: set '
                'model.descriptor_checkpoint to a local copy of torchvision\'s '
                'resnet18-f37072fd.pth. Random descriptors make MaskFN meaningless; pass '
                'allow_random_descriptor=True only for debugging.')
        net.fc = nn.Identity()
        self.net = net
        self.eye_size = tuple(eye_size)
        self.mouth_size = tuple(mouth_size)
        self.pad = pad
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.net.eval()

    def train(self, mode: bool = True) -> 'EyeMouthDescriptor':
        """The descriptor is frozen: always in eval mode (BN statistics fixed)."""
        super().train(False)
        return self

    def _boxes(self, keypoints: torch.Tensor, idx: Sequence[int]) -> torch.Tensor:
        pts = keypoints[:, list(idx)]  # (N, k, 2)
        lo = pts.min(dim=1).values
        hi = pts.max(dim=1).values
        size = (hi - lo).clamp_min(2.0)
        lo = lo - self.pad * size
        hi = hi + self.pad * size
        batch_idx = torch.arange(len(pts), device=pts.device, dtype=pts.dtype)[:, None]
        return torch.cat([batch_idx, lo, hi], dim=1)  # (N, 5): idx, x1, y1, x2, y2

    @torch.no_grad()
    def forward(self, imgs: torch.Tensor, keypoints: torch.Tensor) -> torch.Tensor:
        """Args:
            imgs (Tensor): (N, 3, H, W) normalised images.
            keypoints (Tensor): (N, 68, 2) landmarks (x, y) in pixels of ``imgs``.

        Returns:
            Tensor: (N, 1024) L2-normalised eye+mouth descriptors.
        """
        from torchvision.ops import roi_align
        keypoints = keypoints.to(imgs.dtype)
        eyes = roi_align(imgs, self._boxes(keypoints, EYE_REGION_IDX), self.eye_size,
                         aligned=True)
        mouth = roi_align(imgs, self._boxes(keypoints, MOUTH_REGION_IDX), self.mouth_size,
                          aligned=True)
        desc = torch.cat([self.net(eyes), self.net(mouth)], dim=1)
        return F.normalize(desc, dim=1)


@MODELS.register_module()
class SSLFER(SimCLR):
    """SSL-FER: SimCLR (mmpretrain's pieces) with HardNeg and MaskFN, InfoNCE τ = 0.07.

    **Views.** ``inputs`` is a list of V view batches (N, 3, H, W); ``view_roles`` (a
    per-sample field of the data samples, or the model's ``view_roles``) names the role of each:
    ``anchor`` and ``positive`` (the positive pair; with TimeAug/FaceSwap the positive is another
    frame / a face-swapped frame, built by the pipeline), optional ``hardneg`` (a frame of the
    same video ≥ T2 apart; needs ``use_hardneg=True``) and optional ``hardneg_positive`` (a
    second view of the hard negative, making it a full instance of the batch, as in the
    authors' code). ``hardneg_valid`` (bool per sample, default True) drops the hard-negative
    views of samples whose video was too short for one.

    **Loss.** All views go through backbone → 2-layer MLP projector (128-d) → L2-norm and are
    gathered over ranks (SimCLR's ``GatherLayer``); ``s`` is the cosine-similarity matrix of the
    R rows. Rows of one instance are positives of each other; every other row is a negative,
    hard negatives included. For every row ``r`` with a positive (InfoNCE, :func:`info_nce`):

    - ``L1 = -log e^{s_rp/τ} / (e^{s_rp/τ} + Σ_{n∈Neg(r)} e^{s_rn/τ})``;
    - MaskFN (``use_maskfn=True``): eye/mouth descriptors of the anchors
      (:class:`EyeMouthDescriptor`, frozen ImageNet ResNet-18) pick for each sample the
      ``num_false_negatives`` most similar *other samples* of the batch (never its positive,
      never its hard negative). Their views are removed from ``Neg(r)`` for both terms and
      become the positives of ``L2`` (same form, each mined view its own term, averaged); the
      loss is ``L1 + ½ L2`` (Eq. 2; ``fn_loss_weight``), as in the authors' ``info_nce_loss_
      withmask_agg``.

    Args:
        backbone (dict): Backbone config, e.g. ResNet-18/50.
        neck (dict): Projector config: ``NonLinearNeck`` with ``out_channels=128``,
            ``num_layers=2``.
        temperature (float): τ. Defaults to 0.07.
        use_hardneg (bool): Accept ``hardneg`` views as extra negatives. Defaults to False.
        use_maskfn (bool): MaskFN false-negative cancellation (Eq. 2). Defaults to False.
        num_false_negatives (int): N_FN, mined samples per anchor. Defaults to 1.
        fn_loss_weight (float): Weight of ``L2``. Defaults to 0.5.
        descriptor_checkpoint (str, optional): torchvision resnet18 ImageNet weights (local
            file) for MaskFN.
        allow_random_descriptor (bool): Allow MaskFN with random descriptor weights (loud
            warning). Defaults to False.
        descriptor_cfg (dict, optional): Extra :class:`EyeMouthDescriptor` arguments
            (``eye_size``, ``mouth_size``, ``pad``).
        keypoints_key (str): Data-sample field holding the anchor view's 68 landmarks, (68, 2)
            or (V, 68, 2) with one entry per view, in the anchor view's pixels. Samples without
            it take no part in MaskFN (counted in the logged ``maskfn_no_landmarks``).
            Defaults to ``'gt_keypoints'``.
        view_roles (Sequence[str], optional): Roles when the data samples carry none.
            Defaults to ``('anchor', 'positive')`` plus ``'hardneg'`` for a third view.
        head (dict, optional): Unused (kept for mmpretrain config compatibility).
        data_preprocessor (dict, optional): ``SelfSupDataPreprocessor`` config.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 temperature: float = 0.07,
                 use_hardneg: bool = False,
                 use_maskfn: bool = False,
                 num_false_negatives: int = 1,
                 fn_loss_weight: float = 0.5,
                 descriptor_checkpoint: Optional[str] = None,
                 allow_random_descriptor: bool = False,
                 descriptor_cfg: Optional[dict] = None,
                 keypoints_key: str = 'gt_keypoints',
                 view_roles: Optional[Sequence[str]] = None,
                 head: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if temperature <= 0:
            raise ValueError(f'SSLFER: temperature must be > 0, got {temperature}')
        if num_false_negatives < 1:
            raise ValueError(f'SSLFER: num_false_negatives must be >= 1, '
                             f'got {num_false_negatives}')
        self.temperature = temperature
        self.use_hardneg = use_hardneg
        self.use_maskfn = use_maskfn
        self.num_false_negatives = num_false_negatives
        self.fn_loss_weight = fn_loss_weight
        self.keypoints_key = keypoints_key
        if view_roles is not None:
            self._check_roles(view_roles, len(view_roles))
        self.view_roles = tuple(view_roles) if view_roles is not None else None
        self.descriptor = None
        if use_maskfn:
            self.descriptor = EyeMouthDescriptor(
                checkpoint=descriptor_checkpoint,
                allow_random_descriptor=allow_random_descriptor, **(descriptor_cfg or {}))

    # ------------------------------------------------------------------ helpers
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
        if ('hardneg' in roles) and not self.use_hardneg:
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
            else:
                roles = ['anchor', 'positive', 'hardneg',
                         'hardneg_positive'][:num_views] if num_views <= 4 else None
                if roles is None:
                    raise ValueError(f'SSLFER: {num_views} views and no view_roles')
        self._check_roles(roles, num_views)
        return roles

    @staticmethod
    def _sample_field(data_samples: Optional[List[DataSample]], key: str, n: int,
                      default) -> List:
        if not data_samples:
            return [default] * n
        return [ds.get(key, default) for ds in data_samples]

    def _anchor_keypoints(self, data_samples: Optional[List[DataSample]], anchor_view: int,
                          n: int, device: torch.device
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
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

    # ------------------------------------------------------------------ loss
    def build_masks(self, inst: torch.Tensor, sample: torch.Tensor, main: torch.Tensor,
                    fn_samples: Optional[torch.Tensor]
                    ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """Positive / negative / false-negative masks over the R gathered rows.

        Args:
            inst (Tensor): (R,) instance id of each row (rows of one instance are positives).
            sample (Tensor): (R,) global sample index of each row.
            main (Tensor): (R,) bool, row is an anchor/positive view (not a hard negative).
            fn_samples (Tensor, optional): (S, N_FN) mined false-negative sample indices per
                sample (S = number of samples in the gathered batch), -1 for none.

        Returns:
            tuple: ``pos`` (R, R), ``neg`` (R, R), ``fn`` (R, R) or None.
        """
        eye = torch.eye(len(inst), dtype=torch.bool, device=inst.device)
        same = inst[:, None] == inst[None, :]
        pos = same & ~eye
        neg = ~same
        fn = None
        if fn_samples is not None:
            # fn[r, c]: c is a view of one of the samples mined for r's sample
            num = len(fn_samples)
            mined = torch.zeros(num, num + 1, dtype=torch.bool, device=inst.device)
            mined.scatter_(1, torch.where(fn_samples < 0, num, fn_samples), True)  # -1: none
            mined = mined[:, :num]
            fn = mined[sample][:, sample] & main[None, :] & main[:, None] & neg
            neg = neg & ~fn
        return pos, neg, fn

    def loss(self, inputs: List[torch.Tensor], data_samples: Optional[List[DataSample]] = None,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Args:
            inputs (list[Tensor]): V views, each (N, 3, H, W).
            data_samples (list[DataSample], optional): N samples with ``view_roles``,
                ``hardneg_valid`` and (MaskFN) the anchor landmarks.

        Returns:
            dict: ``loss_l1`` (L1) and, with MaskFN, ``loss_fn`` (``fn_loss_weight`` × L2);
            mmengine sums the ``loss*`` entries into ``L1 + ½ L2``. With hard negatives also
            ``num_hardneg`` (valid hard negatives in the gathered batch, logged only).
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError('SSLFER: inputs must be a list of >= 2 view batches')
        roles = self._roles(len(inputs), data_samples)
        n = inputs[0].size(0)
        device = inputs[0].device
        hn_valid = torch.as_tensor(
            [bool(v) for v in self._sample_field(data_samples, 'hardneg_valid', n, True)],
            dtype=torch.bool, device=device) if 'hardneg' in roles else None

        x = self.backbone(torch.cat(list(inputs), dim=0))
        z = self.neck(x)[0]
        z = z / (torch.norm(z, p=2, dim=1, keepdim=True) + 1e-10)  # (V*N, d)

        # row metadata, local then made global
        rank, world = get_rank(), get_world_size()
        local_idx = torch.arange(n, device=device)
        inst_l, samp_l, main_l, valid_l = [], [], [], []
        for role in roles:
            hard = role.startswith('hardneg')
            inst_l.append(local_idx + (n if hard else 0))
            samp_l.append(local_idx)
            main_l.append(torch.full((n, ), not hard, dtype=torch.bool, device=device))
            valid_l.append(hn_valid if hard else torch.ones(n, dtype=torch.bool, device=device))
        inst = torch.cat(inst_l)
        samp = torch.cat(samp_l)
        main = torch.cat(main_l)
        valid = torch.cat(valid_l)

        z = torch.cat(GatherLayer.apply(z), dim=0) if world > 1 else z
        if world > 1:
            offsets = [r * n for r in range(world)]
            inst = torch.cat([i + 2 * o for i, o in zip(all_gather(inst), offsets)])
            samp = torch.cat([s + o for s, o in zip(all_gather(samp), offsets)])
            main = torch.cat(all_gather(main))
            valid = torch.cat(all_gather(valid))

        fn_samples = None
        num_no_kpts = None
        if self.use_maskfn:
            anchor_view = roles.index('anchor')
            kpts, has_kpts = self._anchor_keypoints(data_samples, anchor_view, n, device)
            desc = self.descriptor(inputs[anchor_view].detach(), kpts)  # (n, D)
            if world > 1:
                desc = torch.cat(all_gather(desc), dim=0)
                has_kpts = torch.cat(all_gather(has_kpts), dim=0)
            num_samples = desc.size(0)
            if num_samples - 1 < self.num_false_negatives:
                raise ValueError(f'SSLFER MaskFN: {num_samples} samples in the batch, need more '
                                 f'than num_false_negatives={self.num_false_negatives}')
            dsim = desc @ desc.t()
            dsim.fill_diagonal_(float('-inf'))
            # samples without landmarks are never mined (column -inf) and mine nothing
            dsim[:, ~has_kpts] = float('-inf')
            top = dsim.topk(self.num_false_negatives, dim=1)
            fn_samples = top.indices.masked_fill(~torch.isfinite(top.values), -1)  # (S, N_FN)
            fn_samples[~has_kpts] = -1
            num_no_kpts = (~has_kpts).sum()

        # drop invalid (missing hard negative) rows entirely
        keep = valid.nonzero(as_tuple=True)[0]
        z, inst, samp, main = z[keep], inst[keep], samp[keep], main[keep]
        pos, neg, fn = self.build_masks(inst, samp, main, fn_samples)
        sim = z @ z.t()
        losses = dict(loss_l1=info_nce(sim, pos, neg, self.temperature))
        if fn is not None:
            losses['loss_fn'] = self.fn_loss_weight * info_nce(sim, fn, neg, self.temperature)
        if num_no_kpts is not None:
            losses['maskfn_no_landmarks'] = num_no_kpts.float()
        if 'hardneg' in roles:
            losses['num_hardneg'] = (~main).sum().float().detach() / (
                2 if 'hardneg_positive' in roles else 1)
        return losses
