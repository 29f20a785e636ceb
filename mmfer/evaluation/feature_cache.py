# Copyright (c) mmfer contributors. All rights reserved.
"""A feature cache that cannot go stale.

:class:`FeatureCache` stores feature matrices keyed on what determines them: a SHA-256 of the
model's weights and buffers *as loaded* (so a checkpoint's content, not its name or mtime,
and the key prefix used to load it), the model and dataset/pipeline configs, and every
sample's image files (path, size, ``mtime_ns``). It logs why an entry was reused or why an
older entry of the same set was not.
"""
import copy
import hashlib
import json
import logging
import os
import os.path as osp
import time
from typing import Any, Dict, Optional

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import print_log

from mmfer.utils import load_checkpoint_file

__all__ = ['state_dict_sha256', 'dataset_files_sha256', 'FeatureCache']


def state_dict_sha256(module: nn.Module) -> str:
    """SHA-256 of a module's weights and buffers (names, dtypes, shapes and bytes)."""
    h = hashlib.sha256()
    for name, value in sorted(module.state_dict().items()):
        t = value.detach().cpu().contiguous().reshape(-1)
        h.update(f'{name}|{t.dtype}|{tuple(value.shape)}|'.encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b'')
    return h.hexdigest()


def _default(obj):
    if isinstance(obj, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()
    if torch.is_tensor(obj):
        return _default(obj.detach().cpu().numpy())
    return str(obj)


def dataset_files_sha256(dataset) -> str:
    """SHA-256 over every sample's image files (path, size, ``mtime_ns``), in dataset order.

    ``img_path`` / ``img_paths`` entries are stat-ed (``'<file>#<key>'`` stats ``<file>``);
    a sample without a path contributes its whole data info instead.

    Raises:
        FileNotFoundError: a listed image file does not exist.
    """
    h = hashlib.sha256()
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        paths = info.get('img_paths') or ([info['img_path']] if info.get('img_path') else [])
        if not paths:
            h.update(json.dumps(info, sort_keys=True, default=_default).encode())
            continue
        for path in paths:
            file = str(path).split('#', 1)[0]
            try:
                st = os.stat(file)
            except FileNotFoundError:
                raise FileNotFoundError(f'image {file} (sample {i} of '
                                        f'{type(dataset).__name__}) does not exist') from None
            h.update(f'{path}|{st.st_size}|{st.st_mtime_ns}\n'.encode())
    return h.hexdigest()


def _config_sha256(cfg: Any) -> str:
    if hasattr(cfg, 'to_dict'):
        cfg = cfg.to_dict()
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, default=_default).encode()
                          ).hexdigest()


class FeatureCache:
    """Feature matrices on disk, keyed on weights, configs and image files.

    An entry ``<cache_dir>/<name>_<key>.pt`` holds ``feats``; ``<name>_<key>.json`` its key
    parts: ``weights`` (:func:`state_dict_sha256`), ``model`` and ``data`` (config hashes),
    ``files`` (:func:`dataset_files_sha256`) and ``num_samples``. Entries are only ever read
    when *all* parts match; otherwise the newest entry of the same ``name`` is compared part
    by part and the log says what changed.

    Args:
        cache_dir (str): Folder of the entries (created when writing).
    """

    PARTS = ('weights', 'model', 'data', 'files', 'num_samples')
    EXPLAIN = dict(weights='the model weights differ', model='the model config differs',
                   data='the dataset/pipeline config differs',
                   files='the image files differ (path, size or mtime)',
                   num_samples='the number of samples differs')

    def __init__(self, cache_dir: str) -> None:
        self.cache_dir = cache_dir

    @staticmethod
    def key_parts(model: nn.Module, model_cfg: Any, data_cfg: Any, dataset) -> Dict[str, Any]:
        """The key parts of ``dataset``'s features under ``model`` (see the class)."""
        return dict(weights=state_dict_sha256(model), model=_config_sha256(model_cfg),
                    data=_config_sha256(data_cfg), files=dataset_files_sha256(dataset),
                    num_samples=len(dataset))

    @staticmethod
    def _key(parts: Dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]

    def _path(self, name: str, parts: Dict[str, Any], ext: str) -> str:
        return osp.join(self.cache_dir, f'{name}_{self._key(parts)}{ext}')

    def load(self, name: str, parts: Dict[str, Any]) -> Optional[torch.Tensor]:
        """The cached features of ``name`` for exactly ``parts``, or None (reason logged)."""
        path = self._path(name, parts, '.pt')
        if osp.isfile(path):
            data = load_checkpoint_file(path, map_location='cpu')
            if isinstance(data, dict) and data.get('parts') == parts:
                print_log(f'feature cache: reusing {path} for the {name} set '
                          f'({parts["num_samples"]} samples): same weights (sha256 '
                          f'{parts["weights"][:12]}), same model and data configs, same image '
                          'files (path, size, mtime)', logger='current')
                return data['feats']
        older = self._newest_other(name, parts)
        if older is None:
            why = f'no entry for the {name} set in {self.cache_dir}'
        else:
            old_path, old_parts = older
            changed = [self.EXPLAIN[p] for p in self.PARTS if old_parts.get(p) != parts[p]]
            why = f'not reusing {old_path}: {"; ".join(changed) or "its key differs"}'
        print_log(f'feature cache: {why}; extracting the {name} features', logger='current')
        return None

    def _newest_other(self, name: str, parts: Dict[str, Any]):
        if not osp.isdir(self.cache_dir):
            return None
        best = None
        for f in os.listdir(self.cache_dir):
            if not (f.startswith(name + '_') and f.endswith('.json')):
                continue
            path = osp.join(self.cache_dir, f)
            try:
                with open(path) as fh:
                    info = json.load(fh)
            except (OSError, ValueError):
                continue
            if best is None or info.get('created', 0) > best[1].get('created', 0):
                best = (path[:-5] + '.pt', info)
        return None if best is None else (best[0], best[1].get('parts', {}))

    def save(self, name: str, parts: Dict[str, Any], feats: torch.Tensor) -> str:
        """Write an entry atomically; returns its path."""
        os.makedirs(self.cache_dir, exist_ok=True)
        path = self._path(name, parts, '.pt')
        tmp = f'{path}.{os.getpid()}.tmp'
        torch.save(dict(feats=feats, parts=copy.deepcopy(parts)), tmp)
        os.replace(tmp, path)
        with open(self._path(name, parts, '.json'), 'w') as f:
            json.dump(dict(parts=parts, created=time.time()), f, indent=1)
        print_log(f'feature cache: wrote {path}', logger='current', level=logging.INFO)
        return path
