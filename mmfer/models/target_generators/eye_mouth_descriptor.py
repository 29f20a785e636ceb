# Copyright (c) mmfer contributors. All rights reserved.
"""SSL-FER's eye/mouth descriptor (MaskFN, §3.4): a frozen ImageNet ResNet-18 on landmark crops.

A ``target_generator`` in mmpretrain's sense (cf. ``HOGGenerator`` of MaskFeat): a frozen network
that turns the input images into what the self-supervised loss needs, here the descriptors whose
cosine similarity picks each anchor's false negatives.
"""
import os.path as osp
import warnings
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import nn

from mmfer.registry import MODELS
from mmfer.utils import load_checkpoint_file

#: iBUG 300-W 68-point indices: brows (17-26) + eyes (36-47), and the mouth (48-67).
EYE_REGION_IDX = tuple(range(17, 27)) + tuple(range(36, 48))
MOUTH_REGION_IDX = tuple(range(48, 68))


def top_similar_samples(desc: torch.Tensor, num: int,
                        valid: Optional[torch.Tensor] = None) -> torch.Tensor:
    """MaskFN steps 3-4: for each sample, the ``num`` most cosine-similar *other* samples.

    Args:
        desc (Tensor): (S, D) L2-normalised descriptors.
        num (int): N_FN, samples picked per sample.
        valid (Tensor, optional): (S,) bool; invalid samples (no landmarks) are never picked
            and pick nothing.

    Returns:
        Tensor: (S, num) int64 sample indices, -1 where nothing can be picked.
    """
    if desc.dim() != 2:
        raise ValueError(f'top_similar_samples: desc must be (S, D), got {tuple(desc.shape)}')
    if desc.size(0) - 1 < num:
        raise ValueError(f'MaskFN: {desc.size(0)} samples in the batch, need more than '
                         f'num_false_negatives={num}')
    valid = torch.ones(desc.size(0), dtype=torch.bool, device=desc.device) if valid is None \
        else valid.bool()
    sim = desc @ desc.t()
    sim.fill_diagonal_(float('-inf'))
    sim[:, ~valid] = float('-inf')
    top = sim.topk(num, dim=1)
    picked = top.indices.masked_fill(~torch.isfinite(top.values), -1)
    picked[~valid] = -1
    return picked


@MODELS.register_module()
class EyeMouthDescriptor(BaseModule):
    """Frozen ImageNet ResNet-18 describing the eye and mouth regions of faces (MaskFN).

    The eye region (brows + eyes) and the mouth region are cut out of the (normalised) input
    tensor with ``torchvision.ops.roi_align`` around the 68-point landmarks, each crop goes
    through ResNet-18 up to global average pooling (512-d), and the two are concatenated and
    L2-normalised (§3.4 steps 1-3): (N, 3, H, W) + (N, 68, 2) -> (N, 1024).

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
            self._load(net, checkpoint)
        elif allow_random_descriptor:
            msg = ('!!! SSL-FER MaskFN runs with a RANDOMLY INITIALISED ResNet-18 descriptor '
                   '(target_generator.checkpoint=None, allow_random_descriptor=True): the '
                   'mined "false negatives" are NOT expression-similar faces and MaskFN is '
                   'meaningless. Set model.target_generator.checkpoint to torchvision\'s '
                   'resnet18 ImageNet weights for real runs. !!!')
            warnings.warn(msg)
            print_log(msg, logger='current', level=30)
        else:
            raise ValueError(
                'EyeMouthDescriptor (SSL-FER MaskFN) needs the ImageNet ResNet-18 weights: set '
                'model.target_generator.checkpoint to a local copy of torchvision\'s '
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

    @staticmethod
    def _load(net: nn.Module, checkpoint: str) -> None:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'SSL-FER MaskFN descriptor weights {checkpoint} do not exist; give the local '
                'path of torchvision\'s resnet18 ImageNet weights (resnet18-f37072fd.pth)')
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

    def init_weights(self) -> None:
        """Nothing to initialise: the weights are the loaded ImageNet ones (or random)."""

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
