# Copyright (c) mmfer contributors. All rights reserved.
"""The one backbone-weight loader of mmfer, with one acceptance policy.

Every route that puts pre-trained weights into a backbone goes through
:func:`select_backbone_state`: the frozen-feature evaluation (``tools/test.py`` with a
``FrozenFeatureTestLoop`` config), ``load_from`` (:class:`mmfer.engine.FERRunner`), the
``PretrainedBackbone`` weight initialiser (fine-tuning init, ABAW5 configs) and the tools
that load a backbone by hand. Supported checkpoints:

1. mmfer / mmengine checkpoints (``{'state_dict': ..., 'meta': ...}``) of self-supervised
   algorithms -- ContraWarping (``backbone.*`` + ``target_net.*``, ``neck.*``, ``head.*``,
   ``landmark_head.*``), SSL-FER, EmoCo, mmpretrain BYOL / MoCo / SimSiam -- and of
   classifiers (``backbone.*`` + ``head.*``): the keys under ``prefix`` (default
   ``'backbone.'``) are used, everything else is ignored and counted;
2. plain backbone state dicts whose keys are the backbone's own names: torchvision ResNets
   (``conv1.``, ``bn1.``, ``layer1.``-``layer4.``; the names of mmpretrain's ResNet with
   ``deep_stem=False``; ``fc.*`` is ignored) and bare mmpretrain backbones. This "plain" match
   is used when no checkpoint key under ``prefix`` names a backbone weight.

DDP's ``module.`` prefix is stripped first (:func:`mmfer.utils.extract_state_dict`).

**The policy.** By default *every* weight and buffer of the backbone must be found with the
right shape (``min_fraction=1.0``) and hold finite values; otherwise
:class:`CheckpointKeyError` names the file, the prefix tried, the counts (found / expected /
wrong shape) and examples. A smaller documented ``min_fraction`` accepts partial matches
(the missing weights keep their initialisation and are listed in the log). A checkpoint is
therefore never loaded "partially and silently" on any route.

Use it from a config through the ``PretrainedBackbone`` weight initialiser::

    model = dict(backbone=dict(type='ResNet', depth=50, zero_init_residual=False,
                               init_cfg=dict(type='PretrainedBackbone',
                                             checkpoint='work_dirs/contrawarp/epoch_100.pth')))

(``zero_init_residual=False``: mmpretrain's ``ResNet.init_weights`` zeroes the last BN of
each block after ``init_cfg`` unless the type is literally ``'Pretrained'``.) With
``checkpoint=None`` the initialiser applies ``default_init`` (mmpretrain ResNet's default
Kaiming/constant init), so configs can always carry it and a command line sets the path with
``--cfg-options model.backbone.init_cfg.checkpoint=PATH``. mmengine's own ``PretrainedInit``
is not the parent: it loads non-strictly (a mismatching file leaves a random backbone) and
knows neither plain keys nor the NaN check.

Checkpoints are read with :func:`mmfer.utils.load_checkpoint_file` (``weights_only=True``).
"""
import os.path as osp
from collections import Counter
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model.weight_init import initialize, update_init_info
from mmengine.runner.checkpoint import CheckpointLoader, load_state_dict

from mmfer.registry import WEIGHT_INITIALIZERS
from mmfer.utils import extract_state_dict, load_checkpoint_file

__all__ = [
    'CheckpointKeyError', 'select_backbone_state', 'load_backbone_weights',
    'load_model_weights', 'check_state_dict_matches', 'load_checkpoint_any',
    'PretrainedBackboneInit'
]

#: mmpretrain ResNet's default initialisation, used when no checkpoint is given.
RESNET_DEFAULT_INIT = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
]

Target = Union[nn.Module, Mapping[str, Sequence[int]]]


class CheckpointKeyError(KeyError, ValueError):
    """A checkpoint does not hold the (finite) weights a module needs.

    Both a ``KeyError`` and a ``ValueError``, so callers written for either keep working.
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def _shapes(target: Target) -> Dict[str, Tuple[int, ...]]:
    if isinstance(target, nn.Module):
        return {k: tuple(v.shape) for k, v in target.state_dict().items()}
    return {k: tuple(v) for k, v in target.items()}


def _top_prefixes(keys) -> Dict[str, int]:
    return dict(Counter(k.split('.', 1)[0] + ('.' if '.' in k else '') for k in keys))


def _strip_module(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()}


def select_backbone_state(state_dict: Mapping[str, torch.Tensor],
                          target: Target,
                          prefix: Optional[str] = 'backbone.',
                          min_fraction: float = 1.0,
                          check_finite: bool = True,
                          source: str = 'checkpoint') -> Tuple[Dict[str, torch.Tensor], dict]:
    """Pick a backbone's weights out of a full state dict, with mmfer's one policy.

    Args:
        state_dict (Mapping[str, Tensor]): Flat ``name -> tensor`` dict (a DDP ``module.``
            prefix is removed).
        target (nn.Module | Mapping[str, shape]): The backbone to load into, or its
            ``name -> shape`` dict.
        prefix (str, optional): Prefix of the backbone keys in ``state_dict``. ``''`` or
            None: the keys are backbone names already. When no key under ``prefix`` names a
            backbone weight, the plain names are tried (torchvision state dicts).
        min_fraction (float): Fraction of the backbone's weights that must be found with
            the right shape. Defaults to 1.0 (all of them).
        check_finite (bool): Refuse NaN/inf values in the selected tensors (a diverged run).
            Defaults to True.
        source (str): How to name the checkpoint in messages (e.g. ``'checkpoint a.pth'``).

    Returns:
        tuple: ``(state, report)``: the backbone state dict (backbone names, right shapes)
        and a report dict with ``matched`` (``'prefix'`` or ``'plain'``), ``prefix``,
        ``num_loaded``, ``num_expected``, ``num_ignored`` (checkpoint tensors not used),
        ``missing`` and ``shape_mismatch`` (lists of backbone names / descriptions).

    Raises:
        CheckpointKeyError: no key matches; fewer than ``min_fraction`` of the backbone's
            weights are found with the right shape; or selected tensors hold NaN/inf.
    """
    if not 0.0 < min_fraction <= 1.0:
        raise ValueError(f'min_fraction must be in (0, 1], got {min_fraction}')
    if prefix and not prefix.endswith('.'):
        prefix += '.'
    state = _strip_module(state_dict)
    expected = _shapes(target)
    what = type(target).__name__ if isinstance(target, nn.Module) else 'backbone'
    sub, how = None, None
    if prefix:
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        how = 'prefix' if set(sub) & set(expected) else None
    if how is None:
        sub = {k: v for k, v in state.items() if k in expected}
        how = 'plain'
    if not sub:
        raise CheckpointKeyError(
            f'No weights of {source} match the {what}: no key starts with {prefix!r} and no '
            f'key is a backbone weight name. The file holds {len(state)} tensors with '
            f'top-level prefixes {_top_prefixes(state)}; the backbone expects names like '
            f'{list(expected)[:4]}. Give the prefix of the backbone in the checkpoint '
            '(tools/test.py --checkpoint-prefix, config key load_from_prefix, or '
            "PretrainedBackbone(prefix=...); '' for a torchvision state dict) or check that "
            "the config's backbone matches the checkpoint.")
    matched, mismatch = {}, []
    for key, shape in expected.items():
        if key not in sub:
            continue
        if tuple(sub[key].shape) == shape:
            matched[key] = sub[key]
        else:
            mismatch.append(f'{key}: checkpoint {tuple(sub[key].shape)} vs model {shape}')
    missing = [k for k in expected if k not in sub]
    tried = f'prefix {prefix!r}' if how == 'prefix' else (
        f'plain backbone names (no key under prefix {prefix!r} fits)' if prefix else
        'plain backbone names')
    if len(matched) < min_fraction * len(expected):
        need = 'all' if min_fraction >= 1.0 else f'at least {min_fraction:.0%}'
        details = []
        if missing:
            details.append(f'{len(missing)} missing, e.g. {missing[:4]}')
        if mismatch:
            details.append(f'{len(mismatch)} with another shape, e.g. {mismatch[:3]}')
        raise CheckpointKeyError(
            f'{source}: found {len(matched)} of the {len(expected)} weights of the {what} '
            f'({tried}); {need} of them are required. {"; ".join(details)}. The file holds '
            f'{len(state)} tensors with top-level prefixes {_top_prefixes(state)}. The '
            "config's backbone (depth, stem, widths) probably differs from the checkpoint's.")
    if check_finite:
        bad = [k for k, v in matched.items()
               if v.is_floating_point() and not torch.isfinite(v).all()]
        if bad:
            raise CheckpointKeyError(
                f'{source}: {len(bad)} backbone tensors hold NaN/inf values, e.g. {bad[:3]}; '
                'the training run that wrote it probably diverged (look for a NaN loss in '
                'its log)')
    report = dict(matched=how, prefix=prefix or '', num_loaded=len(matched),
                  num_expected=len(expected), num_ignored=len(state) - len(matched),
                  missing=missing, shape_mismatch=mismatch)
    return matched, report


def load_checkpoint_any(filename: str, map_location: str = 'cpu') -> dict:
    """Read a checkpoint: local files with mmfer's safe loader, URLs via mmengine."""
    if '://' in str(filename) and not osp.exists(str(filename)):
        return CheckpointLoader.load_checkpoint(filename, map_location)
    return load_checkpoint_file(filename, map_location=map_location)


def _summary(report: dict, what: str, source: str) -> str:
    how = (f"prefix {report['prefix']!r}" if report['matched'] == 'prefix' else
           'plain backbone names')
    text = (f"loaded {report['num_loaded']}/{report['num_expected']} {what} tensors from "
            f"{source} ({how}); ignored {report['num_ignored']} other checkpoint tensors")
    if report['missing'] or report['shape_mismatch']:
        text += (f"; {len(report['missing'])} missing and {len(report['shape_mismatch'])} "
                 'wrong-shaped backbone weights keep their initialisation')
    return text


def load_backbone_weights(module: nn.Module,
                          checkpoint: str,
                          prefix: Optional[str] = 'backbone.',
                          min_fraction: float = 1.0,
                          check_finite: bool = True,
                          map_location: str = 'cpu') -> dict:
    """Load a backbone's weights from the file ``checkpoint`` (policy: module docstring).

    Args:
        module (nn.Module): The backbone.
        checkpoint (str): Path or URL.
        prefix, min_fraction, check_finite: See :func:`select_backbone_state`.
        map_location (str): Defaults to ``'cpu'``.

    Returns:
        dict: the report of :func:`select_backbone_state`.
    """
    source = f'checkpoint {checkpoint}'
    state = extract_state_dict(load_checkpoint_any(checkpoint, map_location), str(checkpoint))
    matched, report = select_backbone_state(state, module, prefix, min_fraction, check_finite,
                                            source)
    load_state_dict(module, matched, strict=False, logger='current')
    print_log(_summary(report, type(module).__name__, source), logger='current')
    return report


def load_model_weights(model: nn.Module,
                       state_dict: Mapping[str, torch.Tensor],
                       source: str = 'checkpoint',
                       prefix: Optional[str] = 'backbone.',
                       min_fraction: float = 1.0,
                       require_all: bool = False) -> dict:
    """``load_from``'s policy: a whole model from a checkpoint of it or of its backbone.

    ``model.backbone`` (when the model has one) is loaded by :func:`select_backbone_state`
    (``prefix`` or plain names; all weights required by default; finite). Every other model
    tensor is loaded when the checkpoint holds the same name with the same shape (heads,
    necks, momentum encoders of a full checkpoint of this model); the others keep their
    initialisation and are listed in the log, or raise with ``require_all`` (used for
    testing, where a missing head would mean evaluating a random one). A model without a
    ``backbone`` needs every tensor.

    Args:
        model (nn.Module): The (unwrapped) model.
        state_dict (Mapping[str, Tensor]): The checkpoint's flat weights.
        source (str): How to name the checkpoint in messages.
        prefix (str, optional): Backbone prefix in the checkpoint. Defaults to
            ``'backbone.'``.
        min_fraction (float): Of the backbone's weights. Defaults to 1.0.
        require_all (bool): Every non-backbone tensor must be found too.

    Returns:
        dict: the backbone report of :func:`select_backbone_state` plus ``other_loaded`` and
        ``other_missing`` (names of the non-backbone tensors).
    """
    state = _strip_module(state_dict)
    model_shapes = _shapes(model)
    backbone = getattr(model, 'backbone', None)
    full: Dict[str, torch.Tensor] = {}
    report: dict = dict(matched=None, prefix=prefix or '', num_loaded=0, num_expected=0,
                        num_ignored=0, missing=[], shape_mismatch=[])
    if isinstance(backbone, nn.Module):
        used, report = select_backbone_state(state, backbone, prefix, min_fraction,
                                             source=source)
        full.update({f'backbone.{k}': v for k, v in used.items()})
    others = [k for k in model_shapes if not (isinstance(backbone, nn.Module)
                                              and k.startswith('backbone.'))]
    other_missing: List[str] = []
    for key in others:
        value = state.get(key)
        if value is not None and tuple(value.shape) == model_shapes[key]:
            full[key] = value
        else:
            other_missing.append(key if value is None else
                                 f'{key}: checkpoint {tuple(value.shape)} vs model '
                                 f'{model_shapes[key]}')
    if other_missing and (require_all or not isinstance(backbone, nn.Module)):
        why = ('evaluating them would use random weights' if require_all else
               'the model has no backbone to load alone')
        raise CheckpointKeyError(
            f'{source} lacks {len(other_missing)} of the model\'s {len(model_shapes)} tensors '
            f'(or has them with another shape), e.g. {other_missing[:4]}; {why}. The file '
            f'holds top-level prefixes {_top_prefixes(state)}.')
    load_state_dict(model, full, strict=False, logger='current')
    report = dict(report, other_loaded=[k for k in others if k in full],
                  other_missing=other_missing)
    if isinstance(backbone, nn.Module):
        msg = _summary(report, 'backbone', source)
        if others:
            msg += (f'; other model tensors: {len(report["other_loaded"])} loaded, '
                    f'{len(other_missing)} not in the checkpoint (they keep their '
                    f'initialisation{", e.g. " + str(other_missing[:3]) if other_missing else ""})')
        print_log(msg, logger='current')
    return report


def check_state_dict_matches(model: nn.Module, state_dict: Mapping[str, torch.Tensor],
                             source: str = 'checkpoint') -> None:
    """Raise unless ``state_dict`` has exactly the model's keys and shapes (strict resume).

    Raises:
        CheckpointKeyError: listing the missing keys, the unexpected keys and the shape
            mismatches (with counts and examples).
    """
    state = _strip_module(state_dict)
    shapes = _shapes(model)
    missing = [k for k in shapes if k not in state]
    unexpected = [k for k in state if k not in shapes]
    mismatch = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {shapes[k]}'
                for k in shapes if k in state and tuple(state[k].shape) != shapes[k]]
    if missing or unexpected or mismatch:
        parts = [f'{len(v)} {name}: {v[:6]}' for name, v in (
            ('missing from the checkpoint', missing), ('unexpected in the checkpoint',
                                                       unexpected),
            ('with another shape', mismatch)) if v]
        raise CheckpointKeyError(
            f'{source} does not fit the model ({type(model).__name__}, {len(shapes)} '
            f'tensors); resuming needs the same keys and shapes: {"; ".join(parts)}. Resume '
            'with the config that wrote the checkpoint, or start a new run with load_from=.')


@WEIGHT_INITIALIZERS.register_module(name='PretrainedBackbone')
class PretrainedBackboneInit:
    """Weight initialiser: a backbone from a (self-supervised) checkpoint, mmfer's policy.

    Args:
        checkpoint (str, optional): Checkpoint path (or URL). None applies
            ``default_init`` instead.
        prefix (str): Backbone prefix in the checkpoint. Defaults to ``'backbone.'``.
        map_location (str): Defaults to ``'cpu'``.
        default_init (list[dict]): Init configs used without a checkpoint. Defaults to
            mmpretrain ResNet's default (Kaiming convs, constant-1 norms).
        min_fraction (float): Fraction of the backbone's weights that must be found in the
            checkpoint. Defaults to 1.0 (all).
    """

    def __init__(self,
                 checkpoint: Optional[str] = None,
                 prefix: str = 'backbone.',
                 map_location: str = 'cpu',
                 default_init: Optional[Sequence[dict]] = None,
                 min_fraction: float = 1.0) -> None:
        self.checkpoint = checkpoint
        self.prefix = prefix
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
                                  min_fraction=self.min_fraction,
                                  map_location=self.map_location)
            info = f'{type(self).__name__}: load {self.prefix}* from {self.checkpoint}'
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=info)
