# Copyright (c) mmfer contributors. All rights reserved.
"""Initialise a backbone from a self-supervised (e.g. ContraWarping) checkpoint.

A ContraWarping/BYOL checkpoint holds ``backbone.*`` (the online encoder), ``target_net.*``
(the momentum encoder), ``neck.*``/``head.*`` (projector/predictor) and optionally
``landmark_head.*``. A frame classifier only wants the online backbone:
:func:`map_backbone_state_dict` keeps ``backbone.*`` (prefix stripped), drops the rest and
raises a ``ValueError`` naming the file when *nothing* lands on the target module's keys
(wrong file, wrong architecture, wrong prefix) -- or less than half of them, e.g. a
ResNet-18 file whose stem alone fits a ResNet-50 -- instead of silently training from
scratch.

Use it from a config through the ``PretrainedBackbone`` weight initialiser::

    model = dict(backbone=dict(type='ResNet', depth=50, zero_init_residual=False,
                               init_cfg=dict(type='PretrainedBackbone',
                                             checkpoint='work_dirs/contrawarp/epoch_100.pth')))

(``zero_init_residual=False``: mmpretrain's ``ResNet.init_weights`` zeroes the last BN of
each block after ``init_cfg`` unless the type is literally ``'Pretrained'``.) With
``checkpoint=None`` the initialiser applies ``default_init`` (mmpretrain ResNet's default
Kaiming/constant init), so configs can always carry it and a command line sets the path with
``--cfg-options model.backbone.init_cfg.checkpoint=PATH``.

Checkpoints are read with :func:`mmfer.utils.load_checkpoint_file` (``weights_only=True``).
"""
import os.path as osp
from collections import Counter
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model.weight_init import initialize, update_init_info
from mmengine.runner.checkpoint import CheckpointLoader, load_state_dict

from mmfer.registry import WEIGHT_INITIALIZERS
from mmfer.utils import extract_state_dict, load_checkpoint_file

#: Sub-modules of mmfer/mmpretrain self-supervised algorithms that are not the backbone.
DEFAULT_DROP_PREFIXES: Tuple[str, ...] = ('target_net.', 'momentum_encoder.', 'neck.',
                                          'head.', 'landmark_head.', 'data_preprocessor.')

#: mmpretrain ResNet's default initialisation, used when no checkpoint is given.
RESNET_DEFAULT_INIT = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
]


def map_backbone_state_dict(
        state_dict: Dict[str, torch.Tensor],
        target_keys: Optional[Dict[str, torch.Size]] = None,
        prefix: str = 'backbone.',
        drop_prefixes: Sequence[str] = DEFAULT_DROP_PREFIXES,
        source: str = 'checkpoint',
        min_fraction: float = 0.5) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Keep the backbone weights of a full-model state dict, keys relative to the backbone.

    Args:
        state_dict (dict): Full state dict (a DDP ``module.`` prefix is removed first).
        target_keys (dict, optional): ``name -> shape`` of the module to load into; when
            given, only keys with the same name and shape are returned and an error is
            raised if there are none.
        prefix (str): Prefix of the backbone in ``state_dict`` (``''``: every key that
            is not dropped). Defaults to ``'backbone.'``.
        drop_prefixes (Sequence[str]): Prefixes removed without a warning
            (``target_net.``, ``neck.``, ``head.``, ``landmark_head.``, ...).
        source (str): Name of the checkpoint in messages.
        min_fraction (float): With ``target_keys``, raise unless at least this fraction
            of them is matched (a ResNet-18 file matches only the stem of a ResNet-50:
            an error, not a silently random backbone). Defaults to 0.5.

    Returns:
        tuple: the mapped state dict and a report dict with ``kept``, ``dropped``,
        ``unused`` (neither backbone nor dropped), ``shape_mismatch`` and ``missing``
        (target keys not provided) lists.

    Raises:
        ValueError: no key (or less than ``min_fraction`` of ``target_keys``) maps onto
            ``target_keys`` (without ``target_keys``: no key has ``prefix``); the message
            lists the top-level prefixes found.
    """
    if prefix and not prefix.endswith('.'):
        prefix += '.'
    cleaned = {(k[len('module.'):] if k.startswith('module.') else k): v
               for k, v in state_dict.items()}
    kept, dropped, unused = {}, [], []
    for key, value in cleaned.items():
        if prefix and key.startswith(prefix):
            kept[key[len(prefix):]] = value
        elif any(key.startswith(p) for p in drop_prefixes):
            dropped.append(key)
        elif not prefix:
            kept[key] = value
        else:
            unused.append(key)
    report = dict(kept=sorted(kept), dropped=dropped, unused=unused, shape_mismatch=[],
                  missing=[])
    tops = Counter(k.split('.', 1)[0] + '.' for k in cleaned)

    def _fail(why: str) -> None:
        raise ValueError(
            f'{source}: {why}. The file holds {len(cleaned)} keys with top-level prefixes '
            f'{dict(tops)}; kept {len(kept)} keys under prefix {prefix!r} and dropped '
            f'{len(dropped)} ({", ".join(drop_prefixes)}). Check the checkpoint path, the '
            "prefix and the backbone's architecture (depth, type).")

    if target_keys is None:
        if not kept:
            _fail(f'no key starts with {prefix!r}')
        return kept, report
    matched = {}
    for key, value in kept.items():
        if key not in target_keys:
            report['unused'].append(prefix + key)
        elif tuple(value.shape) != tuple(target_keys[key]):
            report['shape_mismatch'].append(
                f'{key}: {tuple(value.shape)} vs {tuple(target_keys[key])}')
        else:
            matched[key] = value
    report['missing'] = sorted(set(target_keys) - set(matched))
    report['kept'] = sorted(matched)
    if not matched or len(matched) < min_fraction * len(target_keys):
        examples = ', '.join(report['missing'][:4])
        mismatch = (f'; {len(report["shape_mismatch"])} keys differ in shape, e.g. '
                    f'{report["shape_mismatch"][:2]}' if report['shape_mismatch'] else '')
        what = ('none of its keys matches' if not matched else
                f'only {len(matched)} of its keys match (< {min_fraction:.0%} of)')
        _fail(f'{what} the {len(target_keys)} weights of the target backbone (missing e.g. '
              f'{examples}){mismatch}')
    return matched, report


def load_checkpoint_any(filename: str, map_location: str = 'cpu') -> dict:
    """Read a checkpoint: local files with mmfer's safe loader, URLs via mmengine."""
    if '://' in str(filename) and not osp.exists(str(filename)):
        return CheckpointLoader.load_checkpoint(filename, map_location)
    return load_checkpoint_file(filename, map_location=map_location)


def load_backbone_weights(module: nn.Module,
                          checkpoint: str,
                          prefix: str = 'backbone.',
                          drop_prefixes: Sequence[str] = DEFAULT_DROP_PREFIXES,
                          map_location: str = 'cpu',
                          min_fraction: float = 0.5) -> dict:
    """Load ``prefix`` weights of ``checkpoint`` into ``module`` (see the module docstring).

    Returns:
        dict: the report of :func:`map_backbone_state_dict`.
    """
    state_dict = extract_state_dict(load_checkpoint_any(checkpoint, map_location),
                                    str(checkpoint))
    target = {k: v.shape for k, v in module.state_dict().items()}
    mapped, report = map_backbone_state_dict(state_dict, target, prefix=prefix,
                                             drop_prefixes=drop_prefixes,
                                             source=f'checkpoint {checkpoint}',
                                             min_fraction=min_fraction)
    load_state_dict(module, mapped, strict=False, logger='current')
    print_log(
        f'loaded {len(report["kept"])}/{len(target)} {type(module).__name__} weights from '
        f'{checkpoint} (prefix {prefix!r}); dropped {len(report["dropped"])} keys '
        f'({", ".join(sorted({k.split(".", 1)[0] for k in report["dropped"]}))}), '
        f'{len(report["unused"])} unused, {len(report["shape_mismatch"])} shape mismatches, '
        f'{len(report["missing"])} backbone weights not in the checkpoint',
        logger='current')
    return report


@WEIGHT_INITIALIZERS.register_module(name='PretrainedBackbone')
class PretrainedBackboneInit:
    """Weight initialiser: a backbone from a self-supervised checkpoint.

    Args:
        checkpoint (str, optional): Checkpoint path (or URL). None applies
            ``default_init`` instead.
        prefix (str): Backbone prefix in the checkpoint. Defaults to ``'backbone.'``.
        drop_prefixes (Sequence[str]): Prefixes dropped silently.
        map_location (str): Defaults to ``'cpu'``.
        default_init (list[dict]): Init configs used without a checkpoint. Defaults to
            mmpretrain ResNet's default (Kaiming convs, constant-1 norms).
        min_fraction (float): Minimum fraction of the backbone's weights that must be
            found in the checkpoint. Defaults to 0.5.
    """

    def __init__(self,
                 checkpoint: Optional[str] = None,
                 prefix: str = 'backbone.',
                 drop_prefixes: Sequence[str] = DEFAULT_DROP_PREFIXES,
                 map_location: str = 'cpu',
                 default_init: Optional[Sequence[dict]] = None,
                 min_fraction: float = 0.5) -> None:
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.drop_prefixes = tuple(drop_prefixes)
        self.map_location = map_location
        self.min_fraction = min_fraction
        self.default_init = list(RESNET_DEFAULT_INIT if default_init is None
                                 else default_init)

    def __call__(self, module: nn.Module) -> None:
        if self.checkpoint is None:
            initialize(module, self.default_init)
            info = f'{type(self).__name__}: no checkpoint, default init {self.default_init}'
        else:
            load_backbone_weights(module, self.checkpoint, prefix=self.prefix,
                                  drop_prefixes=self.drop_prefixes,
                                  map_location=self.map_location,
                                  min_fraction=self.min_fraction)
            info = f'{type(self).__name__}: load {self.prefix}* from {self.checkpoint}'
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=info)
