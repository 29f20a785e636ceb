# Copyright (c) mmfer contributors. All rights reserved.
"""The study's synthetic data: written once, checked every time it is reused.

Three layouts under one data root, each written by the synthetic writers exactly as
``tools/misc/make_synthetic_faces.py`` writes them (:func:`tool_command` gives that command):

- ``pretrain/``: unlabeled stills of the pre-training people (generator seed 0);
- ``videos/``: one talking-face clip per pre-training person (seed 0, 25 fps), for SSL-FER;
- ``rafdb/``: labelled faces of other people (seed 1000) in RAF-DB's layout, the train split
  (bank) and the test split identity-disjoint.

``ssl_study_data.json`` in the root records what was asked for; a root without it (e.g. the
``data/demo`` of earlier mmfer versions, whose RAF-DB split shared people) or with other
parameters is never reused: :func:`prepare_data` raises :class:`StudyDataError` naming the
folder. Each layout is written to ``<layout>.partial`` and renamed when complete, so an
interrupted run rewrites only the missing layouts.
"""
import csv
import json
import math
import os
import os.path as osp
from typing import Callable, Dict, List, Optional

from .presets import Preset

MANIFEST = 'ssl_study_data.json'
PRETRAIN_SEED = 0
EVAL_SEED = 1000
LAYOUTS = ('pretrain', 'videos', 'rafdb')


class StudyDataError(RuntimeError):
    """The data root holds data the study did not write, or wrote with other parameters."""


def data_plan(preset: Preset) -> Dict[str, dict]:
    """The arguments of ``tools/misc/make_synthetic_faces.py`` for each layout."""
    size = preset.image_size
    return {
        'pretrain': dict(format='folder', num=preset.pretrain_images,
                         num_identities=preset.pretrain_identities, image_size=size,
                         seed=PRETRAIN_SEED),
        'videos': dict(format='voxceleb',
                       num=preset.video_identities * preset.frames_per_video,
                       num_identities=preset.video_identities,
                       frames_per_video=preset.frames_per_video, image_size=size,
                       seed=PRETRAIN_SEED),
        'rafdb': dict(format='rafdb', num=preset.eval_images,
                      num_identities=preset.eval_identities, image_size=size, seed=EVAL_SEED),
    }


def tool_command(root: str, spec: dict) -> List[str]:
    """The ``make_synthetic_faces.py`` command that writes ``spec`` into ``root``."""
    cmd = ['python', 'tools/misc/make_synthetic_faces.py', root, '--format', spec['format'],
           '--num', str(spec['num']), '--num-identities', str(spec['num_identities'])]
    if 'frames_per_video' in spec:
        cmd += ['--frames-per-video', str(spec['frames_per_video'])]
    return cmd + ['--image-size', str(spec['image_size']), '--seed', str(spec['seed'])]


def write_layout(root: str, spec: dict, progress: bool = False) -> dict:
    """Write one layout into ``root`` (a fresh folder) with the writer the tool uses.

    The split and video counts follow ``make_synthetic_faces.py``: RAF-DB's train split is
    ``round(0.8 num)`` images, videos are ``ceil(num / (num_identities x frames_per_video))``
    per person.
    """
    from mmfer.datasets.synthetic import writers as W
    fmt, num, ids = spec['format'], spec['num'], spec['num_identities']
    size, seed = spec['image_size'], spec['seed']
    if fmt == 'folder':
        return W.write_face_folder(root, num, size, seed, ids, progress=progress)
    if fmt == 'voxceleb':
        fpv = spec['frames_per_video']
        vids = max(1, math.ceil(num / (ids * fpv)))
        return W.write_voxceleb(root, ids, vids, fpv, size, seed, progress=progress,
                                frames_dir='frames')
    if fmt == 'rafdb':
        n_train = max(1, int(round(0.8 * num))) if num > 1 else num
        return W.write_rafdb(root, n_train, num - n_train, size, seed, ids, progress=progress,
                             identity_split='disjoint')
    raise ValueError(f'write_layout: unknown format {fmt!r}')


def rafdb_identities(root: str) -> Dict[str, set]:
    """The people of the train and test splits of a synthetic RAF-DB layout (its meta.csv)."""
    path = osp.join(root, 'meta.csv')
    if not osp.isfile(path):
        raise StudyDataError(f'{path} is missing: {root} is not a synthetic RAF-DB layout '
                             'written by mmfer (it records every image\'s person there)')
    split: Dict[str, set] = dict(train=set(), test=set())
    with open(path, newline='') as f:
        for lineno, row in enumerate(csv.DictReader(f), 2):
            name = osp.basename(row.get('img_path', ''))
            kind = name.split('_')[0]
            if kind not in split:
                raise StudyDataError(f'{path}:{lineno}: image {name!r} is neither train_* nor '
                                     'test_*')
            split[kind].add(int(row['identity']))
    return split


def check_identity_disjoint(root: str) -> Dict[str, int]:
    """Raise unless the bank (train split) and the test split share no person.

    Returns:
        dict: ``bank_identities``, ``test_identities`` (counts).
    """
    ids = rafdb_identities(root)
    shared = ids['train'] & ids['test']
    if shared:
        raise StudyDataError(
            f'{root}: {len(shared)} people appear in both the train split (the k-NN bank) and '
            f'the test split (e.g. {sorted(shared)[:5]}): k-NN on such a split rewards '
            'identity, not expression. This is the layout of earlier mmfer versions '
            "(identity_split='shared'); remove the folder to have it rewritten")
    return dict(bank_identities=len(ids['train']), test_identities=len(ids['test']))


def prepare_data(preset: Preset, data_root: str,
                 log: Callable[[str], None] = print) -> Dict[str, object]:
    """Write (or check and reuse) the study's data under ``data_root``.

    Returns:
        dict: ``roots`` ({layout: folder}), ``commands`` ({layout: the equivalent tool
        command}), ``identities`` (bank/test counts), ``written`` (layouts written now).

    Raises:
        StudyDataError: ``data_root`` holds something else (see the module docstring).
    """
    from mmfer.datasets.synthetic import fresh_out_root
    plan = data_plan(preset)
    manifest_path = osp.join(data_root, MANIFEST)
    want = dict(version=1, layouts=plan)
    if osp.isfile(manifest_path):
        with open(manifest_path) as f:
            have = json.load(f)
        if have != want:
            diff = {k: (have.get('layouts', {}).get(k), v) for k, v in plan.items()
                    if have.get('layouts', {}).get(k) != v}
            raise StudyDataError(
                f'{data_root} holds SSL-study data written with other parameters '
                f'({MANIFEST}: {diff}); remove the folder or pass another --data-root')
    elif osp.isdir(data_root) and os.listdir(data_root):
        raise StudyDataError(
            f'{data_root} is not empty but has no {MANIFEST}: it was not written by the SSL '
            f'study (entries: {sorted(os.listdir(data_root))[:5]}); it is never reused '
            'silently. Remove it or pass another --data-root')
    os.makedirs(data_root, exist_ok=True)
    with open(manifest_path, 'w') as f:
        json.dump(want, f, indent=1)
    roots = {name: osp.join(data_root, name) for name in LAYOUTS}
    written = []
    for name in LAYOUTS:
        if osp.isdir(roots[name]):
            continue
        log(f'writing {roots[name]} ({plan[name]["num"]} faces)')
        with fresh_out_root(roots[name], overwrite=False) as tmp:
            write_layout(tmp, plan[name])
        written.append(name)
    identities = check_identity_disjoint(roots['rafdb'])
    return dict(roots=roots, identities=identities, written=written,
                commands={name: tool_command(roots[name], plan[name]) for name in LAYOUTS})


def layout_root(roots: Dict[str, str], data: str) -> Optional[str]:
    """The pre-training folder of a method reading ``data`` (``'stills'`` / ``'videos'``)."""
    return roots['videos'] if data == 'videos' else roots['pretrain']
