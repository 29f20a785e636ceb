# Copyright (c) mmfer contributors. All rights reserved.
"""Frozen-backbone feature extraction with an on-disk cache (used by ``tools/test.py``).

Features are the global-average-pooled last output of the backbone, extracted in batches
with a progress bar; under ``torchrun`` every rank extracts an interleaved shard and the
shards are gathered. :func:`cached_features` stores them under a key made of the checkpoint
(absolute path, size, mtime), the key prefix, the backbone/preprocessor configs and the
dataset config (pipeline included), so a re-run with the same inputs loads them instantly.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dataset import default_collate
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from mmpretrain.datasets import BaseDataset

from mmfer.registry import DATASETS
from mmfer.utils import load_checkpoint_file


@DATASETS.register_module()
class ImageListDataset(BaseDataset):
    """Images given as a list of paths (optionally with labels); e.g. FEC's unique images.

    Args:
        img_paths (Sequence[str]): Image paths (absolute or relative to ``data_root``).
        labels (Sequence[int], optional): One label per image; -1 when absent.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self, img_paths: Sequence[str], labels: Optional[Sequence[int]] = None,
                 data_root: str = '', **kwargs) -> None:
        self._paths = list(img_paths)
        if labels is not None and len(labels) != len(self._paths):
            raise ValueError(f'ImageListDataset: {len(self._paths)} images but {len(labels)} '
                             'labels')
        self._labels = list(labels) if labels is not None else [-1] * len(self._paths)
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        return [dict(img_path=osp.join(self.data_root, p), gt_label=int(lbl))
                for p, lbl in zip(self._paths, self._labels)]


def pool_features(out) -> torch.Tensor:
    """(N, D) features from a backbone output (tuple of maps, map, or vector)."""
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
    raise ValueError(f'cannot pool a backbone output of shape {tuple(out.shape)}')


@torch.no_grad()
def extract_features(backbone: nn.Module, preprocess: Callable, dataset, batch_size: int = 64,
                     num_workers: int = 2, device: Optional[torch.device] = None,
                     desc: str = '') -> torch.Tensor:
    """(len(dataset), D) float32 features, rank-sharded and gathered when distributed."""
    rank, world = get_dist_info()
    device = device or next(backbone.parameters()).device
    indices = list(range(rank, len(dataset), world))
    loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, indices), batch_size=batch_size, shuffle=False,
        num_workers=num_workers, collate_fn=default_collate,
        persistent_workers=False)
    backbone.eval()
    feats = []
    if rank == 0:
        print_log(f'extracting features {desc}: {len(dataset)} images', logger='current')
    bar = ProgressBar(len(indices)) if rank == 0 and len(indices) else None
    for batch in loader:
        inputs = preprocess(batch)
        feats.append(pool_features(backbone(inputs.to(device))).float().cpu())
        if bar is not None:
            for _ in range(inputs.shape[0]):
                bar.update()
    if bar is not None:
        print()
    local = torch.cat(feats) if feats else torch.zeros(0, 0)
    if world == 1:
        return local
    gathered = all_gather_object((indices, local))
    dim = max(f.shape[1] for _, f in gathered if f.numel())
    out = torch.empty(len(dataset), dim)
    for idx, f in gathered:
        if len(idx):
            out[torch.tensor(idx)] = f
    return out


def checkpoint_fingerprint(filename: str) -> Dict[str, object]:
    st = os.stat(filename)
    return dict(path=osp.abspath(filename), size=st.st_size, mtime=int(st.st_mtime))


def cache_key(*parts) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def cached_features(cache_dir: Optional[str], name: str, key: str,
                    compute: Callable[[], torch.Tensor]) -> torch.Tensor:
    """Load ``<cache_dir>/<name>_<key>.pt`` or compute and store it (rank 0 writes)."""
    if cache_dir is None:
        return compute()
    path = osp.join(cache_dir, f'{name}_{key}.pt')
    if osp.isfile(path):
        data = load_checkpoint_file(path, map_location='cpu')
        if isinstance(data, dict) and data.get('key') == key:
            print_log(f'loaded cached features {path}', logger='current')
            return data['feats']
    feats = compute()
    rank, _ = get_dist_info()
    if rank == 0:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = path + '.tmp'
        torch.save(dict(feats=feats, key=key), tmp)
        os.replace(tmp, path)
        print_log(f'cached features to {path}', logger='current')
    return feats
