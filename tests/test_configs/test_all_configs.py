# Copyright (c) mmfer contributors. All rights reserved.
"""Catch-all: every config under ``configs/`` loads, builds its model and its datasets.

The config list is a glob, so a config added later is covered without touching this file.
Datasets are built on tiny synthetic data written once per session in each dataset's real
on-disk layout (the synthetic writers); only ``data_root`` is redirected, the configs' own
relative paths (annotation files, image folders, landmark files) are kept, so a config whose
paths do not match the release layout fails here. Each dataset's first item goes through the
config's pipeline. ResNet-18 models with a train pipeline also run one ``loss`` forward on a
2-sample batch produced by that pipeline and the config's collate function.

A config that cannot be loaded or built fails its own test case (the case id is the config).
"""
import copy
import glob
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate

from mmfer.registry import DATASETS, FUNCTIONS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO, 'configs')


def _is_leaf_config(path: str) -> bool:
    rel = osp.relpath(path, CONFIG_DIR).split(os.sep)
    return '_base_' not in rel and not any(p.startswith('_') for p in rel)


CONFIGS = sorted(p for p in glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True)
                 if _is_leaf_config(p))
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _config_id(path: str) -> str:
    return osp.relpath(path, CONFIG_DIR)


# ------------------------------------------------------------------------------ synthetic data
@pytest.fixture(scope='session')
def synthetic_roots(tmp_path_factory):
    """``{dataset type: data_root}`` for every dataset type the configs use."""
    from mmfer.datasets.synthetic import (write_affectnet, write_affwild2, write_face_folder,
                                          write_fec, write_fer2013, write_ms1m, write_rafdb,
                                          write_voxceleb)
    base = tmp_path_factory.mktemp('synthetic_datasets')
    d = {k: str(base / k) for k in ('rafdb', 'affectnet', 'fer2013', 'affwild2', 'fec',
                                    'folder', 'recordio', 'voxceleb', 'au')}
    write_rafdb(d['rafdb'], num_train=4, num_test=3, image_size=48, num_identities=3)
    write_affectnet(d['affectnet'], num_train=8, num_val=6, image_size=64, num_identities=3,
                    special_fraction=0.0)
    write_fer2013(d['fer2013'], num=10, num_identities=3)
    from mmfer.datasets.fer2013 import convert_fer2013
    convert_fer2013(osp.join(d['fer2013'], 'fer2013.csv'), progress=False)
    write_affwild2(d['affwild2'], num_videos=3, frames_per_video=6, image_size=48,
                   unannotated_fraction=0.0, missing_fraction=0.0)
    write_face_folder(d['folder'], num=4, image_size=64, num_identities=2)
    write_fec(d['fec'], num_train=3, num_test=3, image_size=48, seed=3, num_identities=3)
    write_ms1m(d['recordio'], num=4, image_size=64, seed=5, num_identities=2)
    write_voxceleb(d['voxceleb'], num_identities=2, videos_per_identity=1, frames_per_video=4,
                   image_size=64, seed=2, frames_dir='frames')
    write_face_folder(d['au'], num=4, image_size=48, num_identities=2, seed=9)
    return dict(RAFDB=d['rafdb'], AffectNet=d['affectnet'], FER2013=d['fer2013'],
                AffWild2Expr=d['affwild2'], AffWild2VA=d['affwild2'], AffWild2AU=d['affwild2'],
                FEC=d['fec'], FaceFolderDataset=d['folder'], MS1MRecordIO=d['recordio'],
                VoxCelebFrames=d['voxceleb'], AUListDataset=d['au'])


def _au_root(ds_cfg: dict, au_images: str, tmp_path) -> str:
    """An AU-list root for this config: its ``ann_file`` with its ``au_names`` over 4 images."""
    root = tmp_path / 'au'
    prefix = ds_cfg.get('data_prefix') or ''
    prefix = prefix.get('img_path', '') if isinstance(prefix, dict) else prefix
    img_dir = root / prefix
    if not img_dir.exists():
        shutil.copytree(osp.join(au_images, 'images'), img_dir)
    names = ds_cfg.get('au_names') or ['AU1', 'AU2', 'AU4']
    imgs = sorted(os.listdir(img_dir))
    rng = np.random.default_rng(0)
    lines = ['path ' + ' '.join(names)]
    lines += [f'{im} ' + ' '.join(str(v) for v in rng.choice([0, 1, 9], len(names)))
              for im in imgs]
    ann = root / ds_cfg['ann_file']
    ann.parent.mkdir(parents=True, exist_ok=True)
    ann.write_text('\n'.join(lines) + '\n')
    return str(root)


def _redirect(ds_cfg: dict, roots: dict, tmp_path) -> dict:
    """Copy of a dataset config whose ``data_root`` is the synthetic one (wrappers too)."""
    ds_cfg = copy.deepcopy(ds_cfg)
    if 'dataset' in ds_cfg:  # RepeatDataset / ClassBalancedDataset ...
        ds_cfg['dataset'] = _redirect(ds_cfg['dataset'], roots, tmp_path)
        return ds_cfg
    if 'datasets' in ds_cfg:  # ConcatDataset
        ds_cfg['datasets'] = [_redirect(d, roots, tmp_path) for d in ds_cfg['datasets']]
        return ds_cfg
    if 'source' in ds_cfg:  # ImageListDataset of another dataset's unique images
        ds_cfg['source'] = _redirect(ds_cfg['source'], roots, tmp_path)
        return ds_cfg
    ds_type = ds_cfg['type'].split('.')[-1]
    if ds_type not in roots:
        pytest.fail(f'dataset type {ds_cfg["type"]} has no synthetic data in '
                    'tests/test_configs/test_all_configs.py: add a writer to synthetic_roots')
    root = roots[ds_type]
    if ds_type == 'AUListDataset':
        root = _au_root(ds_cfg, root, tmp_path)
    ds_cfg['data_root'] = root
    if ds_type in ('AffWild2Expr', 'AffWild2VA', 'AffWild2AU'):
        ds_cfg['frame_interval'] = 1
    return ds_cfg


# ------------------------------------------------------------------------------ model overrides
def _shrink_model(model_cfg: dict) -> dict:
    """Tiny, checkpoint-free overrides; everything else exactly as configured."""
    model_cfg = copy.deepcopy(model_cfg)
    if 'queue_len' in model_cfg:
        model_cfg['queue_len'] = 8
    if (model_cfg.get('target_generator') or {}).get('checkpoint'):  # SSL-FER MaskFN
        model_cfg['target_generator']['checkpoint'] = None
        model_cfg['target_generator']['allow_random_descriptor'] = True
    return model_cfg


def _datasets(cfg: Config):
    """(name, dataset config) of every dataloader, the frozen-feature bank's included."""
    for key in DATALOADERS:
        dl = cfg.get(key)
        if dl:
            yield key, dl['dataset']
    bank = (cfg.get('test_cfg') or {}).get('bank_dataloader')
    if bank:
        yield 'test_cfg.bank_dataloader', bank['dataset']


def _collate(cfg_dl: dict):
    collate = cfg_dl.get('collate_fn', dict(type='pseudo_collate'))
    collate = ConfigDict(collate)
    return FUNCTIONS.get(collate.pop('type')) if collate else pseudo_collate


def _check_item(item, where: str) -> None:
    assert item is not None, f'{where}: pipeline returned None'
    assert 'inputs' in item and 'data_samples' in item, f'{where}: not packed: {list(item)}'
    inputs = item['inputs']
    views = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    for v in views:
        assert isinstance(v, torch.Tensor) and v.ndim == 3 and v.shape[0] in (1, 3), \
            f'{where}: bad packed input {type(v)} {getattr(v, "shape", None)}'


def test_configs_found():
    """The glob sees every family (a moved folder must not silently empty the test)."""
    families = {_config_id(p).split(os.sep)[0] for p in CONFIGS}
    assert {'abaw5', 'contrawarp', 'emoco', 'sslfer'} <= families
    assert len(CONFIGS) >= 40
    assert not any(osp.basename(p).startswith('_') for p in CONFIGS)


@pytest.mark.parametrize('path', CONFIGS, ids=_config_id)
def test_config_builds(path, synthetic_roots, tmp_path):
    name = _config_id(path)
    try:
        cfg = Config.fromfile(path)
    except Exception as e:  # noqa: BLE001 - re-raised as a failure naming the config
        pytest.fail(f'{name}: Config.fromfile failed: {type(e).__name__}: {e}')
    assert cfg.get('default_scope', 'mmfer') == 'mmfer', f'{name}: default_scope'

    # ---- model
    model = None
    model_cfg = cfg.get('model')
    if model_cfg and 'type' in model_cfg:
        try:
            model = MODELS.build(_shrink_model(model_cfg))
        except Exception as e:  # noqa: BLE001
            pytest.fail(f'{name}: MODELS.build(cfg.model) failed: {type(e).__name__}: {e}')
    assert model_cfg, f'{name}: no model'

    # ---- datasets (+ first item through the pipeline)
    built = {}
    found = list(_datasets(cfg))
    assert found, f'{name}: no dataset in any dataloader'
    for key, ds_cfg in found:
        try:
            ds = DATASETS.build(_redirect(ds_cfg, synthetic_roots, tmp_path))
        except Exception as e:  # noqa: BLE001
            pytest.fail(f'{name}: {key}.dataset ({ds_cfg.get("type")}) failed to build: '
                        f'{type(e).__name__}: {e}')
        assert len(ds) > 0, f'{name}: {key} dataset is empty'
        assert ds_cfg.get('pipeline'), f'{name}: {key} has no pipeline'
        try:
            item = ds[0]
        except Exception as e:  # noqa: BLE001
            pytest.fail(f'{name}: {key} pipeline failed on item 0: {type(e).__name__}: {e}')
        _check_item(item, f'{name}: {key}')
        built[key] = ds

    # ---- one cheap training forward: ResNet-18 models with a train pipeline
    backbone = (model_cfg or {}).get('backbone') or {}
    if model is None or 'train_dataloader' not in built or backbone.get('depth') != 18:
        return
    ds = built['train_dataloader']
    collate = _collate(cfg.train_dataloader)
    batch = collate([ds[i % len(ds)] for i in range(2)])
    model.train()
    try:
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode='loss')
    except Exception as e:  # noqa: BLE001
        pytest.fail(f'{name}: loss forward on a 2-sample batch failed: '
                    f'{type(e).__name__}: {e}')
    assert isinstance(losses, dict) and losses, f'{name}: no losses'
    for k, v in losses.items():
        if 'loss' in k:
            v = v if isinstance(v, torch.Tensor) else torch.stack(list(v))
            assert torch.isfinite(v).all(), f'{name}: {k} = {v}'
