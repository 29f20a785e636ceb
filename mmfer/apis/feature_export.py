# Copyright (c) mmfer contributors. All rights reserved.
"""Embeddings of a dataset (a config's dataloader) or of a folder of photos, to an ``.npz``.

Both read the model as :class:`~mmfer.apis.FERInferencer` does (:func:`load_fer_model` with
``task='embedding'``: backbone + global average pooling for self-supervised checkpoints, the
neck's output for classifiers) and cache the features with
:class:`~mmfer.evaluation.FeatureCache` (keyed on the weights, the configs and the image
files), so an interrupted or repeated export does not extract again.

- :func:`export_dataset_features`: the samples of ``cfg[key]`` (e.g. ``test_dataloader``)
  through the config's own pipeline, with :func:`~mmfer.evaluation.extract_features` (every
  process of a distributed launch extracts its shard, rank 0 gathers);
- :func:`export_folder_features`: the images under a folder, faces detected and aligned by
  :class:`~mmfer.apis.FERInferencer` (the best face of each image; images without one are
  counted, logged and listed in ``failures``), or taken as aligned crops (``detector=None``).

The ``.npz`` (:func:`save_features`) holds ``feats`` (N, D) float32, ``labels`` (N,) int64
(-1 unknown), ``identities`` and ``videos`` (N,) str ('' unknown), ``paths`` (N,) str,
``classes`` (the label names, when known), ``config`` and ``checkpoint``.
"""
import copy
import os
import os.path as osp
from typing import Dict, List, Optional, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import print_log

from .face_detection.bulk import IMAGE_EXTS
from .fer_inferencer import FERInferencer
from .fer_model import load_fer_model

#: Per-sample fields exported from a dataset.
FIELDS = ('gt_label', 'identity', 'img_path', 'video')


def _cache_or_extract(cache_dir: Optional[str], name: str, model, model_cfg, data_cfg,
                      dataset, extract) -> torch.Tensor:
    from mmfer.evaluation import FeatureCache
    if not cache_dir:
        return extract()
    cache = FeatureCache(cache_dir)
    parts = cache.key_parts(model, model_cfg, data_cfg, dataset)
    feats = cache.load(name, parts)
    if feats is None:
        feats = extract()
        from mmengine.dist import get_rank
        if get_rank() == 0:
            cache.save(name, parts, feats)
    return feats


def export_dataset_features(config: Union[str, Config], checkpoint: str,
                            key: str = 'test_dataloader', device: str = 'cpu',
                            cfg_options: Optional[dict] = None,
                            cache_dir: Optional[str] = None,
                            batch_size: Optional[int] = None,
                            num_workers: Optional[int] = None) -> Optional[Dict]:
    """Embeddings of every sample of the config's ``key`` dataloader.

    Args:
        config (str | Config): The config (its dataloader and model).
        checkpoint (str): Weights (see :func:`load_fer_model`).
        key (str): ``'test_dataloader'``, ``'val_dataloader'`` or ``'train_dataloader'``
            (its dataset is rebuilt with ``test_mode=True`` and an unshuffled sampler).
        device (str): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides.
        cache_dir (str, optional): :class:`~mmfer.evaluation.FeatureCache` folder; None: no
            cache.
        batch_size, num_workers (int, optional): Override the dataloader's.

    Returns:
        dict | None: the export (see :func:`save_features`) on rank 0, None on other ranks.
    """
    from mmengine.runner import Runner

    from mmfer.evaluation import extract_features
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    loader_cfg = cfg.get(key)
    if not isinstance(loader_cfg, dict) or not isinstance(loader_cfg.get('dataset'), dict):
        have = [k for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
                if isinstance(cfg.get(k), dict)]
        raise KeyError(f'{getattr(cfg, "filename", "the config")} has no {key!r} with a '
                       f'dataset (it has {have or "no dataloader"})')
    loader_cfg = copy.deepcopy(loader_cfg)
    loader_cfg.dataset['test_mode'] = True
    loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    loader_cfg.setdefault('collate_fn', dict(type='default_collate'))
    if batch_size:
        loader_cfg['batch_size'] = int(batch_size)
    if num_workers is not None:
        loader_cfg['num_workers'] = int(num_workers)
        if not num_workers:
            loader_cfg['persistent_workers'] = False
    model = load_fer_model(cfg, checkpoint, device, task='embedding')
    loader = Runner.build_dataloader(loader_cfg)
    dataset = loader.dataset
    out: Dict = {}

    def extract():
        res = extract_features(model, loader, desc=f'{key} features', fields=FIELDS)
        if res is not None:
            out.update(res)
            return res['feats']
        return torch.zeros(0)

    feats = _cache_or_extract(cache_dir, key.replace('_dataloader', ''), model, cfg.model,
                              loader_cfg.dataset, dataset, extract)
    from mmengine.dist import get_rank
    if get_rank() != 0:
        return None
    if 'feats' not in out:  # from the cache: the per-sample fields from the dataset
        from mmfer.evaluation import dataset_fields
        out.update(dataset_fields(dataset, FIELDS), feats=feats)
    n = len(out['feats'])
    return dict(feats=out['feats'].numpy().astype(np.float32),
                labels=_column(out.get('gt_label'), n, -1),
                identities=_column(out.get('identity'), n, ''),
                videos=_column(out.get('video'), n, ''),
                paths=_column(out.get('img_path'), n, ''),
                classes=list(dataset.metainfo.get('classes') or []),
                config=str(getattr(cfg, 'filename', '')), checkpoint=str(checkpoint))


def _column(values, n: int, missing):
    """Integer labels (``missing=-1``) or strings (``missing=''``) of a feature set field."""
    if values is None:
        return np.full(n, missing, dtype=np.int64 if missing == -1 else object)
    if torch.is_tensor(values):
        values = values.tolist()
    if missing == -1:
        return np.asarray(values, np.int64)
    return np.asarray([str(v) for v in values], dtype=object)


def export_folder_features(config: Union[str, Config], checkpoint: str, folder: str,
                           detector='dlib', template: Union[str, dict, None] = None,
                           device: str = 'cpu', cfg_options: Optional[dict] = None,
                           cache_dir: Optional[str] = None, batch_size: int = 16,
                           label_from_folder: bool = False) -> Dict:
    """Embeddings of the images under ``folder`` (the best face of each image).

    Args:
        folder (str): Searched recursively for images.
        detector: See :class:`FERInferencer` (None: the images are aligned face crops).
        template: See :class:`FERInferencer`.
        label_from_folder (bool): Label = index of the image's first sub-folder in the
            sorted sub-folder names (``classes``); images directly in ``folder`` get -1.
        Others: See :func:`export_dataset_features`.

    Returns:
        dict: the export (see :func:`save_features`) plus ``failures``: ``(path, reason)``
        of images without a face (they are not in the export).
    """
    from mmfer.apis.face_detection import list_files
    from mmfer.registry import DATASETS
    files = list_files(folder, IMAGE_EXTS)
    if not files:
        raise ValueError(f'no images ({" ".join(IMAGE_EXTS)}) under {folder}')
    paths = [osp.join(folder, f) for f in files]
    inferencer = FERInferencer(config, checkpoint, device=device, detector=detector,
                               template=template, batch_size=batch_size,
                               return_embedding=True, max_faces=1, cfg_options=cfg_options)
    results: List[dict] = []

    def extract():
        preds = inferencer(paths)['predictions']
        results.extend(preds)
        dim = next((len(p['faces'][0]['embedding']) for p in preds
                    if p['faces'] and 'embedding' in p['faces'][0]), 0)
        return torch.from_numpy(np.stack([
            p['faces'][0]['embedding'] if p['faces'] and 'embedding' in p['faces'][0]
            else np.full(dim, np.nan, np.float32) for p in preds]).astype(np.float32))

    listing = DATASETS.build(dict(type='ImageListDataset', img_paths=paths, lazy_init=False,
                                  serialize_data=False))
    data_cfg = dict(folder=osp.abspath(folder), detector=repr(inferencer.detector),
                    face_prep=inferencer.face_prep)
    feats = _cache_or_extract(cache_dir, 'folder', inferencer.model, inferencer.cfg.model,
                              data_cfg, listing, extract).numpy()
    ok = np.isfinite(feats).all(1) if feats.size else np.zeros(len(paths), bool)
    failures = [(p, 'no face' if not results or not results[i]['faces'] else
                 str(results[i]['faces'][0].get('failure') or 'no face'))
                for i, p in enumerate(paths) if not ok[i]]
    if failures:
        print_log(f'{len(failures)} of {len(paths)} images have no usable face and are left '
                  f'out: {[f for f, _ in failures[:10]]}{" ..." if len(failures) > 10 else ""}',
                  logger='current', level=30)
    classes: List[str] = []
    labels = np.full(len(paths), -1, np.int64)
    if label_from_folder:
        top = [f.split(os.sep)[0] if os.sep in f else None for f in files]
        classes = sorted({t for t in top if t is not None})
        labels = np.array([classes.index(t) if t is not None else -1 for t in top], np.int64)
    return dict(feats=feats[ok].astype(np.float32), labels=labels[ok],
                identities=np.full(int(ok.sum()), '', dtype=object),
                videos=np.full(int(ok.sum()), '', dtype=object),
                paths=np.asarray(paths, dtype=object)[ok], classes=classes,
                config=str(config if isinstance(config, str) else ''),
                checkpoint=str(checkpoint), failures=failures)


def save_features(path: str, export: Dict) -> str:
    """Write an export to ``path`` (``.npz``; strings as unicode arrays, no pickles)."""
    os.makedirs(osp.dirname(osp.abspath(path)) or '.', exist_ok=True)
    arrays = {}
    for key in ('feats', 'labels', 'identities', 'videos', 'paths', 'classes'):
        value = export.get(key, [])
        arrays[key] = (np.asarray(value, dtype=str) if key in ('identities', 'videos',
                                                                'paths', 'classes')
                       else np.asarray(value))
    arrays['config'] = np.asarray(export.get('config', ''))
    arrays['checkpoint'] = np.asarray(export.get('checkpoint', ''))
    np.savez(path, **arrays)
    return path


def load_features(path: str) -> Dict[str, np.ndarray]:
    """Read an export written by :func:`save_features` (no pickles are loaded)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'feature file {path} does not exist')
    with np.load(path, allow_pickle=False) as data:
        out = {k: data[k] for k in data.files}
    if 'feats' not in out or out['feats'].ndim != 2:
        raise ValueError(f'{path} has no (N, D) "feats" array (keys: {sorted(out)})')
    n = len(out['feats'])
    for key in ('labels', 'identities', 'videos', 'paths'):
        if key in out and len(out[key]) != n:
            raise ValueError(f'{path}: {key} has {len(out[key])} entries for {n} features')
    return out


__all__ = ['export_dataset_features', 'export_folder_features', 'save_features',
           'load_features', 'FIELDS']
