# Copyright (c) mmfer contributors. All rights reserved.
"""Frozen-feature extraction through a model's own preprocessing, and a cache that cannot go stale.

:func:`extract_features` is the one way to turn a dataloader into a feature set: every batch
goes through ``model.data_preprocessor`` and ``model.extract_feat`` (as mmpretrain's
``RetrievalTestLoop`` and ``FeatureExtractor`` do), the output is pooled to (N, D) by
:func:`pool_features`, and under ``torchrun`` every rank extracts its shard of the sampler and
the shards are gathered **to rank 0 only** (mmengine's ``collect_results(device='cpu')``).
The result is a *feature set*::

    dict(feats=(N, D) float32 CPU tensor,   # row i = dataset sample i
         sample_idx=(N,) long,
         gt_label=(N,) long,                 # when every sample has one
         identity=(N,) long or list,         # when every sample has one (e.g. synthetic faces)
         img_path=list of str)               # when the samples have one

on rank 0 and ``None`` on the other ranks. The frozen-feature metrics
(:mod:`mmfer.evaluation.metrics`) and the pure functions of
:mod:`mmfer.evaluation.functional` read these dicts.

Cached feature sets: :class:`mmfer.evaluation.FeatureCache`.
"""
import copy
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import broadcast_object_list, collect_results, get_dist_info
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import autocast
from mmengine.utils import ProgressBar

__all__ = ['pool_features', 'backbone_model_cfg', 'extract_features', 'dataset_fields']

#: Per-sample fields copied from ``dataset.get_data_info(i)`` into a feature set.
SAMPLE_FIELDS = ('gt_label', 'identity', 'img_path')


def pool_features(out) -> torch.Tensor:
    """(N, D) features from a backbone/neck output (tuple of maps, map, tokens or vectors).

    The last element of a tuple is used; 4-D maps are globally average-pooled, (N, L, C)
    tokens averaged; (N, D) is returned as is.
    """
    if isinstance(out, (tuple, list)):
        out = out[-1]
        if isinstance(out, (tuple, list)):  # e.g. ViT (patch_token, cls_token)
            out = out[-1]
    if out.dim() == 4:
        return F.adaptive_avg_pool2d(out, 1).flatten(1)
    if out.dim() == 3:  # (N, L, C) tokens
        return out.mean(1)
    if out.dim() == 2:
        return out
    raise ValueError(f'cannot pool a model output of shape {tuple(out.shape)}')


def backbone_model_cfg(cfg) -> dict:
    """Config of a frozen "backbone + global average pooling" model for any mmfer config.

    mmpretrain's ``ImageClassifier`` without head (``extract_feat`` = GAP of the backbone's
    last output) with the config's ``model.backbone`` (without ``init_cfg`` and
    ``frozen_stages``) and the normalisation of the config's data preprocessor (``mean``,
    ``std``, ``to_rgb``/``bgr_to_rgb``) as a ``ClsDataPreprocessor``: features of a
    pre-training config's backbone, e.g. for tools that load only its weights.
    """
    backbone = copy.deepcopy(cfg['model']['backbone'])
    for key in ('init_cfg', 'frozen_stages'):
        backbone.pop(key, None)
    pre = cfg['model'].get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    pre_cfg = {k: pre[k] for k in ('mean', 'std') if pre.get(k) is not None}
    pre_cfg['to_rgb'] = bool(pre.get('to_rgb', pre.get('bgr_to_rgb', False)))
    return dict(type='ImageClassifier', backbone=backbone,
                neck=dict(type='GlobalAveragePooling'), head=None,
                data_preprocessor=pre_cfg)


def _check_test_mode(dataset) -> None:
    if getattr(dataset, 'test_mode', True) is False:
        raise ValueError(
            f'{type(dataset).__name__} was built with test_mode=False: when its pipeline '
            'returns None (LoadFaceImage(ignore_empty=True) on a missing image) mmengine then '
            'substitutes another image but keeps the original label. Build evaluation '
            'datasets with test_mode=True (FrozenFeatureTestLoop does).')


def dataset_fields(dataset, fields: Sequence[str] = SAMPLE_FIELDS) -> Dict[str, Any]:
    """Per-sample fields of ``dataset`` (``gt_label`` / ``identity`` / ``img_path``).

    A field is returned only when every sample has it; integer fields become LongTensors.
    """
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    out: Dict[str, Any] = {}
    for name in fields:
        if not infos or any(name not in info for info in infos):
            continue
        values = [info[name] for info in infos]
        if all(isinstance(v, (int, np.integer)) or (torch.is_tensor(v) and v.numel() == 1)
               or (isinstance(v, np.ndarray) and v.size == 1) for v in values):
            values = torch.tensor([int(v) for v in values], dtype=torch.long)
        out[name] = values
    return out


def _meta(sample) -> dict:
    return sample if isinstance(sample, dict) else getattr(sample, 'metainfo', {})


@torch.no_grad()
def extract_features(model: nn.Module,
                     dataloader,
                     fp16: bool = False,
                     collect_device: str = 'cpu',
                     collect_dir: Optional[str] = None,
                     desc: str = 'features',
                     progress: bool = True,
                     fields: Sequence[str] = SAMPLE_FIELDS) -> Optional[Dict[str, Any]]:
    """Features of every sample of ``dataloader.dataset`` (see the module docstring).

    Args:
        model (nn.Module): An mmengine ``BaseModel`` (or a wrapped one) with
            ``data_preprocessor`` and ``extract_feat``; its train/eval mode is restored.
        dataloader (DataLoader): Over a dataset built with ``test_mode=True``; its sampler
            must visit every sample (e.g. ``DefaultSampler(shuffle=False)``; padding repeats
            are dropped). Samples are matched to dataset rows by ``sample_idx`` (mmpretrain's
            ``PackInputs`` keeps it), else by the sampler's order.
        fp16 (bool): Run the model under autocast.
        collect_device (str): ``'cpu'`` (gather through a temporary folder, rank 0 reads)
            or ``'gpu'``; see ``mmengine.dist.collect_results``.
        collect_dir (str, optional): The temporary folder of ``'cpu'`` gathering (on a
            file system all ranks share; removed afterwards). Defaults to mmengine's
            ``.dist_test/<random>`` in the working directory.
        desc (str): Name of the feature set in messages.
        progress (bool): Show a progress bar on rank 0.
        fields (Sequence[str]): Per-sample fields to attach (:func:`dataset_fields`).

    Returns:
        dict | None: the feature set on rank 0, None on the other ranks.

    Raises:
        ValueError: the dataset has ``test_mode=False``, the sampler misses samples, or
            features are NaN/inf (raised on every rank).
    """
    dataset = dataloader.dataset
    _check_test_mode(dataset)
    net = model.module if is_model_wrapper(model) else model
    was_training = net.training
    net.eval()
    rank, world = get_dist_info()
    order = None
    local: List[tuple] = []
    bar = None
    if rank == 0 and progress:
        print_log(f'extracting {desc}: {len(dataset)} samples', logger='current')
        bar = ProgressBar(len(dataloader))
    position = 0
    batches = iter(dataloader)
    try:
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except Exception as e:  # noqa: BLE001 - mmengine's bare Exception, made clear
                if 'should not get `None`' not in str(e):
                    raise
                raise ValueError(
                    f'{desc}: the pipeline of a {type(dataset).__name__} sample returned None '
                    '(e.g. LoadFaceImage(ignore_empty=True) skipped an unreadable image; its '
                    'warning names the file). Evaluation never substitutes another image: '
                    'fix or remove the image (datasets with skip_missing=True drop missing '
                    'files and count them).') from e
            data = net.data_preprocessor(batch, False)
            with autocast(enabled=fp16):
                feats = pool_features(net.extract_feat(data['inputs'])).float().cpu()
            samples = data.get('data_samples') or []
            if len(samples) == feats.shape[0] and all('sample_idx' in _meta(x)
                                                      for x in samples):
                idx = [int(_meta(x)['sample_idx']) for x in samples]
            else:  # PackInputs without sample_idx: the sampler's order
                if order is None:
                    order = [i for b in dataloader.batch_sampler for i in b]
                idx = order[position:position + feats.shape[0]]
            position += feats.shape[0]
            local.append((torch.tensor(idx, dtype=torch.long), feats))
            if bar is not None:
                bar.update()
    finally:
        net.train(was_training)
    if bar is not None:
        print(flush=True)
    # every rank's batches, in any order; padding repeats are removed below
    parts = collect_results(local, len(dataloader) * world + world, device=collect_device,
                            tmpdir=collect_dir if collect_device == 'cpu' else None)
    error, out = None, None
    if rank == 0:
        idx = torch.cat([p[0] for p in parts]) if parts else torch.zeros(0, dtype=torch.long)
        feats = torch.cat([p[1] for p in parts]) if parts else torch.zeros(0, 0)
        uniq, first = np.unique(idx.numpy(), return_index=True)
        if len(uniq) != len(dataset) or (len(uniq) and (uniq[0] != 0
                                                        or uniq[-1] != len(dataset) - 1)):
            error = (f'extract_features: the sampler of the {desc} visited {len(uniq)} of the '
                     f'{len(dataset)} samples; use DefaultSampler(shuffle=False) without '
                     'drop_last')
        else:
            feats = feats[torch.from_numpy(first)]
            bad = int((~torch.isfinite(feats)).any(dim=1).sum())
            if bad:
                error = (f'{bad} of the {len(feats)} {desc} are NaN/inf: the model '
                         'overflows on these images')
            else:
                out = dict(feats=feats, sample_idx=torch.arange(len(dataset)))
                out.update(dataset_fields(dataset, fields))
    if world > 1:
        box = [error]
        broadcast_object_list(box, src=0)
        error = box[0]
    if error:
        raise ValueError(error)
    return out
