# Copyright (c) mmfer contributors. All rights reserved.
"""Synthetic AU videos in the raw release layouts of BP4D, DISFA and GFT.

These are the layouts ``tools/dataset_converters/{bp4d,disfa,gft}.py`` read (the converters
turn them into mmfer AU lists with subject-wise folds). Every subject (or GFT participant) is
one synthetic person; each clip is :meth:`SyntheticFaceGenerator.render_video`, whose AU
activations (in [0, 1]) become the labels.

=============  ===========================================================================
writer         layout under ``out_root``
=============  ===========================================================================
write_bp4d     ``AUCoding/<subject>_<task>.csv`` (``Frame,1,2,4,...``; 1 present, 0 absent,
               9 unknown) + ``aligned/<subject>/<task>/<frame>.jpg`` (subjects F001, M001,
               F002, ...; tasks T1, T2, ...; frame numbers start at a random offset)
write_disfa    ``ActionUnit_Labels/<SN001>/<SN001>_au<N>.txt`` (``frame,intensity`` lines,
               intensity 0-5) + ``aligned/<SN001>/<frame:05d>.jpg`` (frames from 1)
write_gft      ``AU_labels/<video>.csv`` (``Frame,AU1,AU2,...``; 1/0/9) +
               ``aligned/<video>/<frame:05d>.jpg`` (videos 001A, 001B, 001C, 002A, ...:
               group, participant)
=============  ===========================================================================

Each also writes ``meta.csv`` (identity, video, frame, expression per image). Occurrence is
activation >= 0.5 (as the Aff-Wild2 writer); DISFA intensity is ``round(5 * activation)``.
"""
import os
import os.path as osp
from typing import Callable, Dict, List, Sequence

import numpy as np

from ._io import imwrite, meta_row, progress_bar, tick, write_meta
from .face_model import AU_INDEX
from .generator import SyntheticFaceGenerator

#: AUs of each dataset's labels (those the face model animates: all of the usual protocols').
BP4D_AUS = (1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24)
DISFA_AUS = (1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26)
GFT_AUS = (1, 2, 4, 6, 10, 12, 14, 15, 23, 24)
OCCURRENCE_THRESHOLD = 0.5

for _aus in (BP4D_AUS, DISFA_AUS, GFT_AUS):
    assert all(f'AU{a}' in AU_INDEX for a in _aus)


def _render_clips(out_root: str, clips: Sequence[tuple], image_size: int, seed: int,
                  img_path: Callable[[str, str, int], str], progress: bool) -> Dict:
    """Render ``clips`` = ``[(subject, clip, identity, first frame number, num frames)]``.

    Writes every frame to ``out_root/img_path(subject, clip, frame number)`` and
    ``out_root/meta.csv``; returns ``{(subject, clip): (frame numbers (F,), AU activations
    (F, A))}``.
    """
    gen = SyntheticFaceGenerator(image_size, seed=seed)
    out, meta = {}, []
    bar = progress_bar(sum(c[4] for c in clips), progress)
    for v, (subject, clip, identity, first, n) in enumerate(clips):
        frames = gen.render_video(identity=identity, num_frames=n, seed=seed * 1000 + v,
                                  video=v)
        numbers = np.arange(first, first + n)
        for fr, number in zip(frames, numbers):
            rel = img_path(subject, clip, int(number))
            imwrite(osp.join(out_root, rel), fr['img'])
            meta.append(meta_row(rel, fr))
            tick(bar)
        out[(subject, clip)] = (numbers, np.stack([fr['aus'] for fr in frames]))
    write_meta(osp.join(out_root, 'meta.csv'), meta)
    return out


def _occurrence_csv(path: str, header: List[str], numbers: np.ndarray, aus: np.ndarray,
                    au_numbers: Sequence[int], unknown: np.ndarray) -> None:
    cols = [AU_INDEX[f'AU{a}'] for a in au_numbers]
    occ = (aus[:, cols] >= OCCURRENCE_THRESHOLD).astype(int)
    occ[unknown] = 9
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(','.join(header) + '\n')
        for number, row in zip(numbers, occ):
            f.write(f'{int(number)},' + ','.join(str(v) for v in row) + '\n')


def _check(num_subjects: int, frames: int) -> None:
    if num_subjects < 1 or frames < 1:
        raise ValueError(f'need >= 1 subject and >= 1 frame, got {num_subjects}, {frames}')


def write_bp4d(out_root: str, num_subjects: int = 3, tasks_per_subject: int = 2,
               frames_per_task: int = 20, image_size: int = 112, seed: int = 0,
               unknown_fraction: float = 0.02, progress: bool = False) -> Dict:
    """BP4D release layout (``AUCoding`` CSVs + 2D frames) for ``bp4d.py``.

    ``unknown_fraction`` of the (frame, AU) labels are 9 (not coded). Run the converter as
    ``python tools/dataset_converters/bp4d.py OUT/AUCoding LISTS --img-root OUT/aligned``.

    Returns:
        dict: ``root``, ``label_root``, ``img_root``, ``subjects``, ``num_frames``, ``aus``.
    """
    _check(num_subjects, frames_per_task)
    rng = np.random.default_rng([seed, 2013])
    subjects = [f'{"FM"[k % 2]}{k // 2 + 1:03d}' for k in range(num_subjects)]
    clips = [(s, f'T{t + 1}', k, int(rng.integers(1, 500)), frames_per_task)
             for k, s in enumerate(subjects) for t in range(tasks_per_subject)]
    rendered = _render_clips(out_root, clips, image_size, seed,
                             lambda s, t, f: f'aligned/{s}/{t}/{f}.jpg', progress)
    label_root = osp.join(out_root, 'AUCoding')
    for (subject, task), (numbers, aus) in rendered.items():
        unknown = rng.random((len(numbers), len(BP4D_AUS))) < unknown_fraction
        _occurrence_csv(osp.join(label_root, f'{subject}_{task}.csv'),
                        ['Frame'] + [str(a) for a in BP4D_AUS], numbers, aus, BP4D_AUS,
                        unknown)
    return dict(root=out_root, label_root=label_root, img_root=osp.join(out_root, 'aligned'),
                subjects=subjects, num_frames=len(clips) * frames_per_task,
                aus=[f'AU{a}' for a in BP4D_AUS])


def write_disfa(out_root: str, num_subjects: int = 3, frames_per_subject: int = 40,
                image_size: int = 112, seed: int = 0, progress: bool = False) -> Dict:
    """DISFA release layout (``ActionUnit_Labels`` + frames) for ``disfa.py``.

    One video per subject (``SN001``, ``SN002``, ...), frames numbered from 1; each AU file
    lists every frame with its intensity 0-5. Run the converter as
    ``python tools/dataset_converters/disfa.py OUT/ActionUnit_Labels LISTS --img-root
    OUT/aligned``.

    Returns:
        dict: ``root``, ``label_root``, ``img_root``, ``subjects``, ``num_frames``, ``aus``.
    """
    _check(num_subjects, frames_per_subject)
    subjects = [f'SN{k + 1:03d}' for k in range(num_subjects)]
    clips = [(s, '', k, 1, frames_per_subject) for k, s in enumerate(subjects)]
    rendered = _render_clips(out_root, clips, image_size, seed,
                             lambda s, _, f: f'aligned/{s}/{f:05d}.jpg', progress)
    label_root = osp.join(out_root, 'ActionUnit_Labels')
    for (subject, _), (numbers, aus) in rendered.items():
        folder = osp.join(label_root, subject)
        os.makedirs(folder, exist_ok=True)
        for a in DISFA_AUS:
            inten = np.clip(np.round(5 * aus[:, AU_INDEX[f'AU{a}']]), 0, 5).astype(int)
            with open(osp.join(folder, f'{subject}_au{a}.txt'), 'w') as f:
                f.writelines(f'{int(n)},{v}\n' for n, v in zip(numbers, inten))
    return dict(root=out_root, label_root=label_root, img_root=osp.join(out_root, 'aligned'),
                subjects=subjects, num_frames=len(clips) * frames_per_subject,
                aus=[f'AU{a}' for a in DISFA_AUS])


def write_gft(out_root: str, num_participants: int = 3, frames_per_video: int = 30,
              image_size: int = 112, seed: int = 0, unknown_fraction: float = 0.02,
              progress: bool = False) -> Dict:
    """GFT layout (one AU CSV per participant video + frames) for ``gft.py``.

    Participants are grouped by three like GFT's groups (videos ``001A``, ``001B``,
    ``001C``, ``002A``, ...); ``unknown_fraction`` of the labels are 9. Run the converter as
    ``python tools/dataset_converters/gft.py OUT/AU_labels LISTS --img-root OUT/aligned``.

    Returns:
        dict: ``root``, ``label_root``, ``img_root``, ``videos``, ``num_frames``, ``aus``.
    """
    _check(num_participants, frames_per_video)
    rng = np.random.default_rng([seed, 2017])
    videos = [f'{k // 3 + 1:03d}{"ABC"[k % 3]}' for k in range(num_participants)]
    clips = [(v, '', k, 1, frames_per_video) for k, v in enumerate(videos)]
    rendered = _render_clips(out_root, clips, image_size, seed,
                             lambda v, _, f: f'aligned/{v}/{f:05d}.jpg', progress)
    label_root = osp.join(out_root, 'AU_labels')
    for (video, _), (numbers, aus) in rendered.items():
        unknown = rng.random((len(numbers), len(GFT_AUS))) < unknown_fraction
        _occurrence_csv(osp.join(label_root, f'{video}.csv'),
                        ['Frame'] + [f'AU{a}' for a in GFT_AUS], numbers, aus, GFT_AUS,
                        unknown)
    return dict(root=out_root, label_root=label_root, img_root=osp.join(out_root, 'aligned'),
                videos=videos, num_frames=len(clips) * frames_per_video,
                aus=[f'AU{a}' for a in GFT_AUS])
