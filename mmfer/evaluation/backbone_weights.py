# Copyright (c) mmfer contributors. All rights reserved.
"""Load backbone weights from the checkpoints people actually have.

Supported, in this order of detection:

1. mmfer / mmengine checkpoints (``{'state_dict': ..., 'meta': ...}``) of self-supervised
   algorithms: ContraWarping (``backbone.*`` + ``target_net.*``, ``neck.*``, ``head.*``,
   ``landmark_head.*``), SSL-FER, EmoCo, mmpretrain BYOL / MoCo / SimSiam
   (``backbone.*`` + ``target_net.*`` / ``momentum_encoder.*``) and classifiers
   (``backbone.*`` + ``head.*``): the keys under ``prefix`` (default ``'backbone.'``) are
   used, everything else is ignored and counted.
2. Plain backbone state dicts whose keys are the backbone's own names: torchvision ResNets
   (``conv1.``, ``bn1.``, ``layer1.``-``layer4.``: the same names as mmpretrain's ResNet
   with ``deep_stem=False``; ``fc.*`` is ignored) and bare mmpretrain backbones.

DDP's ``module.`` prefix is stripped first. The loader raises a clear error when no key
matches, when backbone weights are missing, or when shapes disagree; it never loads a
partial backbone silently.
"""
import os.path as osp
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log

from mmfer.utils import extract_state_dict, load_checkpoint_file


class CheckpointKeyError(KeyError):
    """The checkpoint does not hold (all) weights of the backbone."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def select_backbone_state(state: Dict[str, torch.Tensor], backbone: nn.Module,
                          prefix: Optional[str] = 'backbone.',
                          filename: str = '<checkpoint>') -> Tuple[Dict, str, int]:
    """Pick the backbone's weights out of a full state dict.

    Args:
        state: Flat ``name -> tensor`` dict.
        backbone: The module to load into (its ``state_dict`` names are the target).
        prefix: Prefix of the backbone keys in ``state``; ``''``/None means the keys are
            already backbone names.
        filename: For error messages.

    Returns:
        tuple: (backbone state dict, how it matched: ``'prefix'`` or ``'plain'``,
        number of ignored checkpoint keys).
    """
    expected = backbone.state_dict()
    if prefix:
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if sub and set(sub) & set(expected):
            how = 'prefix'
        else:
            sub = None
    else:
        sub = None
    if sub is None:
        plain = {k: v for k, v in state.items() if k in expected}
        if not plain:
            ckpt_keys = list(state)[:6]
            raise CheckpointKeyError(
                f'No weights of checkpoint {filename} match the backbone '
                f'{type(backbone).__name__}: no key starts with {prefix!r} and no key is a '
                f'backbone parameter name. Checkpoint keys look like {ckpt_keys}; the backbone '
                f'expects {list(expected)[:6]}. Pass --checkpoint-prefix <prefix> (e.g. '
                '"backbone." for mmpretrain/mmfer models, "" for torchvision) or check that '
                'the config\'s backbone matches the checkpoint.')
        sub, how = plain, 'plain'
    missing = [k for k in expected if k not in sub]
    if missing:
        raise CheckpointKeyError(
            f'Checkpoint {filename} lacks {len(missing)} of the {len(expected)} backbone '
            f'weights ({how} match), e.g. {missing[:5]}: the config\'s backbone (depth, '
            'stem, ...) does not match the checkpoint.')
    bad = [f'{k}: checkpoint {tuple(sub[k].shape)} vs backbone {tuple(v.shape)}'
           for k, v in expected.items() if tuple(sub[k].shape) != tuple(v.shape)]
    if bad:
        raise CheckpointKeyError(f'Checkpoint {filename}: shape mismatch for {len(bad)} '
                                 f'backbone weights, e.g. {bad[:3]}')
    used = {k: sub[k] for k in expected}
    nonfinite = [k for k, v in used.items()
                 if v.is_floating_point() and not torch.isfinite(v).all()]
    if nonfinite:
        raise CheckpointKeyError(
            f'Checkpoint {filename}: {len(nonfinite)} backbone tensors hold NaN/inf values, '
            f'e.g. {nonfinite[:3]}; the training run that wrote it probably diverged (look '
            'for a NaN loss in its log)')
    ignored = len(state) - len(used)
    return used, how, ignored


def load_backbone_weights(backbone: nn.Module, filename: str,
                          prefix: Optional[str] = 'backbone.') -> Dict[str, object]:
    """Load a backbone's weights from ``filename`` (safe ``weights_only`` loading).

    Returns:
        dict: ``matched`` ('prefix' | 'plain'), ``num_loaded``, ``num_ignored`` keys.
    """
    filename = osp.expanduser(filename)
    ckpt = load_checkpoint_file(filename, map_location='cpu')
    state = extract_state_dict(ckpt, filename)
    used, how, ignored = select_backbone_state(state, backbone, prefix, filename)
    backbone.load_state_dict(used, strict=True)
    print_log(f'Loaded {len(used)} backbone tensors from {filename} ({how} key match'
              f'{f", prefix {prefix!r}" if how == "prefix" else ""}); ignored {ignored} other '
              'checkpoint tensors', logger='current')
    return dict(matched=how, num_loaded=len(used), num_ignored=ignored)
