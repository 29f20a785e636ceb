# Copyright (c) mmfer contributors. All rights reserved.
"""ABAW5 expression-track submissions from a frame classifier (Aff-Wild2 ``EXPR``).

The challenge scores one label per listed frame of every video (the annotation files list
the frames). A frame classifier gives logits only for frames with a face image; this module
turns them into per-frame labels and writes the submission files:

1. :func:`smooth_logits` (optional): a centred moving mean / median of the logits over the
   consecutive predicted frames of a video. Temporal smoothing is an mmfer addition: the
   ABAW5 paper (Xue, Sun, Yang 2023) reports frame-wise predictions only;
2. :func:`fill_labels`: the arg-max label of every predicted frame; a frame without an
   image carries the previous predicted frame's label (leading frames the first one's);
3. :func:`write_expr_submission`: ``<video>.txt`` files in the annotation format and one
   ``submission.txt`` (``image_location,<classes>`` header, ``<video>/<frame:05d>.jpg,
   <label>`` lines).

The frames to label come from the annotation files (train / validation) or, for the test set
(no labels), from the organisers' frame list (:func:`read_frame_list`).

:func:`check_smoothing` validates the smoothing arguments, so that a tool can refuse them
before any inference.
"""
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmfer.datasets.affwild2 import EXPR_CLASSES
from . import functional as FM

#: Header line of the expression annotation files and of the submission's label columns.
EXPR_HEADER = ','.join(EXPR_CLASSES)
SMOOTHING_METHODS = ('none', 'mean', 'median')


def check_smoothing(method: str, window: int) -> None:
    """Raise a ``ValueError`` for an unknown ``method`` or a window that is not odd >= 1."""
    if method not in SMOOTHING_METHODS:
        raise ValueError(f'unknown smoothing {method!r}; use one of {SMOOTHING_METHODS}')
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) \
            or window < 1 or window % 2 == 0:
        raise ValueError(f'--window must be a positive odd number, got {window}')


def smooth_logits(logits: np.ndarray, method: str, window: int) -> np.ndarray:
    """Centred moving mean/median over time, the window truncated at the ends.

    Args:
        logits (np.ndarray): (T, C) logits of consecutive predicted frames.
        method (str): ``'none'``, ``'mean'`` or ``'median'``.
        window (int): Odd window length in frames.

    Returns:
        np.ndarray: (T, C) smoothed logits (float64).
    """
    check_smoothing(method, window)
    logits = np.asarray(logits, dtype=np.float64)
    if method == 'none' or window == 1 or len(logits) == 0:
        return logits.copy()
    half = window // 2
    padded = np.pad(logits, ((half, half), (0, 0)), constant_values=np.nan)
    views = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)  # (T, C, W)
    reduce = np.nanmean if method == 'mean' else np.nanmedian
    return reduce(views, axis=-1)


def fill_labels(num_frames, frames: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """One label per listed frame, carrying the last prediction over frames without one.

    Args:
        num_frames (int | np.ndarray): The listed frames: ``n`` for frames 1..n, or the
            (L,) sorted 1-based frame numbers (e.g. of a test-set frame list).
        frames (np.ndarray): (K,) sorted 1-based frames that have a prediction (K >= 1).
        labels (np.ndarray): (K,) their labels.

    Returns:
        np.ndarray: one label per listed frame; frames before the first prediction get it.
    """
    frames = np.asarray(frames)
    if len(frames) == 0:
        raise ValueError('fill_labels needs at least one predicted frame')
    listed = (np.arange(1, num_frames + 1) if np.ndim(num_frames) == 0
              else np.asarray(num_frames))
    pos = np.searchsorted(frames, listed, side='right') - 1
    return np.asarray(labels, dtype=np.int64)[np.clip(pos, 0, None)]


def read_frame_list(path: str) -> Dict[str, Optional[List[int]]]:
    """The frames to label in a test set without annotations, per video, in listed order.

    Lines (blank lines skipped):

    - ``<video>/<frame>.jpg`` (the organisers' sample submission file: an optional
      ``image_location,...`` header; anything after the first comma is ignored): that frame;
    - ``<video>`` alone: every frame of the video up to its last face image (frames after
      the last image cannot be known without the video; give them as frame lines).

    Args:
        path (str): The list file.

    Returns:
        dict: video -> sorted 1-based frame numbers, or None for a ``<video>`` line.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a malformed line, a frame listed twice, frames of a video out of order,
            or a video given both ways (the message names the file and line).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'frame list {path} does not exist')
    out: Dict[str, Optional[List[int]]] = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            item = line.strip().split(',')[0].strip()
            if not item or (lineno == 1 and item == 'image_location'):
                continue
            where = f'{path}:{lineno}'
            if '/' not in item:
                if item in out:
                    raise ValueError(f'{where}: video {item!r} is listed twice (or also '
                                     'with frame lines)')
                out[item] = None
                continue
            video, name = item.rsplit('/', 1)
            stem, ext = osp.splitext(name)
            if not video or not stem.isdigit() or ext.lower() not in ('.jpg', '.jpeg',
                                                                      '.png'):
                raise ValueError(f'{where}: expected <video>/<frame number>.jpg or <video>, '
                                 f'got {item!r}')
            frames = out.setdefault(video, [])
            if frames is None:
                raise ValueError(f'{where}: video {video!r} was listed as a whole video '
                                 'before; give either frame lines or one video line')
            frame = int(stem)
            if frame < 1 or (frames and frame <= frames[-1]):
                raise ValueError(f'{where}: frame {frame} of {video} is not after the '
                                 f'previous listed frame ({frames[-1] if frames else 0}); '
                                 'frames are 1-based and listed in increasing order')
            frames.append(frame)
    if not out:
        raise ValueError(f'{path} lists no frame')
    return out


def list_test_frames(frame_list: Dict[str, Optional[List[int]]], image_root: str,
                     img_suffix: str = '.jpg') -> Tuple[List[dict], List[dict]]:
    """The listed frames of a test set and which of them have a face image.

    Args:
        frame_list (dict): video -> listed frames or None (see :func:`read_frame_list`); a
            None video lists frames 1..its last image.
        image_root (str): Folder of ``<video>/<NNNNN><img_suffix>`` images
            (``cropped_aligned``).
        img_suffix (str): Image extension. Defaults to ``'.jpg'``.

    Returns:
        tuple: ``(video_infos, samples)``: per video, in listed order, ``video``, ``frames``
        (listed), ``num_frames``, ``first`` and ``num_samples`` (as :func:`video_labels`
        reads them); ``samples`` (``video``, ``frame``, ``img_path``) are the listed frames
        with an image, in order.

    Raises:
        ValueError: a video given by name only has no image (its frames are unknown).
    """
    infos, samples = [], []
    for video, listed in frame_list.items():
        folder = osp.join(image_root, video)
        have = {}
        if osp.isdir(folder):
            for name in os.listdir(folder):
                stem, ext = osp.splitext(name)
                if ext.lower() == img_suffix.lower() and stem.isdigit():
                    have[int(stem)] = osp.join(folder, name)
        if listed is None:
            if not have:
                raise ValueError(f'video {video} is listed by name but {folder} holds no '
                                 f'<frame>{img_suffix} image: list its frames instead')
            listed = list(range(1, max(have) + 1))
        first = len(samples)
        samples.extend(dict(video=video, frame=f, img_path=have[f]) for f in listed
                       if f in have)
        infos.append(dict(video=video, frames=list(listed), num_frames=len(listed),
                          first=first, num_samples=len(samples) - first))
    return infos, samples


def video_labels(video_infos: Sequence[dict], frames: np.ndarray, logits: np.ndarray,
                 method: str = 'none', window: int = 1
                 ) -> Tuple[Dict[str, np.ndarray], List[str]]:
    """Per-video labels of every listed frame from the logits of an ``AffWild2Expr`` set.

    Args:
        video_infos (Sequence[dict]): ``AffWild2Expr.video_infos`` (``video``,
            ``num_frames``, ``first``, ``num_samples``: the video's samples are
            ``first:first + num_samples`` of the dataset, in frame order); an info with
            ``frames`` (the listed 1-based frame numbers, sorted) is labelled at those
            frames instead of 1..num_frames.
        frames (np.ndarray): (N,) 1-based frame of every dataset sample.
        logits (np.ndarray): (N, C) logits of every dataset sample.
        method (str): Smoothing (see :func:`smooth_logits`).
        window (int): Smoothing window.

    Returns:
        tuple: ``({video: one label per listed frame}, videos without any face image)``;
        the frames of a video without images are written as class 0 (Neutral).
    """
    check_smoothing(method, window)
    out, no_image = {}, []
    for info in video_infos:
        video = info['video']
        listed = info.get('frames')
        listed = info['num_frames'] if listed is None else np.asarray(listed)
        sl = slice(info['first'], info['first'] + info['num_samples'])
        if info['num_samples'] == 0:
            out[video] = np.zeros(int(listed) if np.ndim(listed) == 0 else len(listed),
                                  dtype=np.int64)
            no_image.append(video)
            continue
        smoothed = smooth_logits(logits[sl], method, window)
        out[video] = fill_labels(listed, frames[sl], smoothed.argmax(1))
    return out, no_image


def write_expr_submission(folder: str, videos: Sequence[str],
                          labels: Dict[str, np.ndarray],
                          frames: Optional[Dict[str, Sequence[int]]] = None) -> str:
    """Write ``<folder>/<video>.txt`` per video and ``<folder>/submission.txt``.

    Args:
        folder (str): Output folder (created).
        videos (Sequence[str]): Videos in submission order.
        labels (dict): video -> labels of every listed frame.
        frames (dict, optional): video -> the listed 1-based frame numbers (a test-set
            frame list); default 1..len(labels). ``<video>.txt`` has one line per listed
            frame, as the annotation files.

    Returns:
        str: Path of ``submission.txt``.
    """
    os.makedirs(folder, exist_ok=True)
    lines = ['image_location,' + EXPR_HEADER]
    for video in videos:
        lab = labels[video]
        numbers = (range(1, len(lab) + 1) if frames is None or frames.get(video) is None
                   else frames[video])
        if len(numbers) != len(lab):
            raise ValueError(f'{video}: {len(lab)} labels for {len(numbers)} listed frames')
        with open(osp.join(folder, f'{video}.txt'), 'w') as f:
            f.write('\n'.join([EXPR_HEADER] + [str(int(x)) for x in lab]) + '\n')
        lines.extend(f'{video}/{int(i):05d}.jpg,{int(x)}' for i, x in zip(numbers, lab))
    path = osp.join(folder, 'submission.txt')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def expr_metrics(pred: np.ndarray, gt: np.ndarray) -> dict:
    """The challenge metric (macro-F1 over the 8 classes, in %), accuracy and per-class F1
    on the annotated frames (``gt >= 0``); only counts when none is annotated."""
    pred, gt = np.asarray(pred), np.asarray(gt)
    valid = gt >= 0
    out = dict(num_frames=int(len(pred)), num_annotated=int(valid.sum()))
    if valid.any():
        n = len(EXPR_CLASSES)
        out.update(
            macro_f1=100.0 * FM.macro_f1(pred[valid], gt[valid], n),
            accuracy=100.0 * FM.accuracy(pred[valid], gt[valid]),
            per_class_f1=dict(zip(EXPR_CLASSES,
                                  (100.0 * FM.per_class_f1(pred[valid], gt[valid], n)
                                   ).tolist())))
    return out


@torch.no_grad()
def predict_frame_logits(model: torch.nn.Module, dataset, batch_size: int = 64,
                         num_workers: int = 0, num_classes: int = len(EXPR_CLASSES),
                         progress: bool = True) -> np.ndarray:
    """(N, C) logits of every dataset item, in dataset order.

    The model (an mmpretrain ``ImageClassifier``) runs on its own ``data_preprocessor`` and
    ``mode='tensor'`` (the head's logits).

    Raises:
        ValueError: the logits are not (N, ``num_classes``).
    """
    from mmengine.dataset import pseudo_collate
    from mmengine.utils import ProgressBar
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False,
                                         num_workers=num_workers, collate_fn=pseudo_collate)
    outputs = []
    bar = ProgressBar(len(dataset), file=sys.stderr) if progress else None
    for data in loader:
        data = model.data_preprocessor(data, False)
        logits = model(data['inputs'], mode='tensor')
        if isinstance(logits, (tuple, list)):
            logits = logits[-1]
        outputs.append(logits.float().cpu().numpy())
        if bar is not None:
            bar.update(logits.shape[0])
    if bar is not None:
        sys.stderr.write('\n')
    logits = np.concatenate(outputs)
    if logits.ndim != 2 or logits.shape[1] != num_classes:
        raise ValueError(f'the model returned logits of shape {logits.shape}; the expression '
                         f'track needs (N, {num_classes})')
    return logits


__all__ = ['EXPR_HEADER', 'SMOOTHING_METHODS', 'check_smoothing', 'smooth_logits',
           'fill_labels', 'read_frame_list', 'list_test_frames', 'video_labels', 'write_expr_submission',
           'expr_metrics',
           'predict_frame_logits']
