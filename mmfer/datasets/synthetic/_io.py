# Copyright (c) mmfer contributors. All rights reserved.
"""File helpers shared by the synthetic writers: images, ``meta.csv``, progress, output folders."""
import csv
import os
import os.path as osp
import shutil
import sys
import time
from contextlib import contextmanager
from typing import Dict, Iterable, Iterator, Optional, TextIO

import cv2
import numpy as np

#: Columns of every writer's ``meta.csv`` (one row per image; paths relative to the root).
META_FIELDS = ['img_path', 'identity', 'video', 'frame', 'gt_label', 'expression', 'intensity',
               'valence', 'arousal']


def imwrite(path: str, img: np.ndarray, quality: int = 95) -> None:
    """Write a JPEG (or the format of ``path``'s extension), creating its folder."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    if not cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise IOError(f'could not write image {path}')


def meta_row(img_path: str, face: Dict) -> Dict:
    """One ``meta.csv`` row of a rendered face (see :data:`META_FIELDS`)."""
    return dict(img_path=img_path, identity=face['identity'], video=face['video'],
                frame=face['frame'], gt_label=face['gt_label'], expression=face['expression'],
                intensity=f"{face['intensity']:.4f}", valence=f"{face['valence']:.4f}",
                arousal=f"{face['arousal']:.4f}")


def write_meta(path: str, rows: Iterable[Dict]) -> None:
    """Write ``meta.csv`` (header :data:`META_FIELDS`)."""
    with open(path, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=META_FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow(r)


class LineProgress:
    """Progress for logs and pipes: whole lines, never one growing ``\\r`` line.

    A line ``done/total (pct%) secs s`` when another ``step`` percent is done and at least
    ``min_interval`` seconds passed since the last line, and one at the end.

    Args:
        total (int): Number of ticks expected.
        stream (TextIO): Output. Defaults to ``sys.stdout``.
        step (int): Percent between two lines. Defaults to 10.
        min_interval (float): Seconds between two lines. Defaults to 2.
    """

    def __init__(self, total: int, stream: Optional[TextIO] = None, step: int = 10,
                 min_interval: float = 2.0) -> None:
        self.total = max(int(total), 1)
        self.stream = stream or sys.stdout
        self.step = int(step)
        self.min_interval = float(min_interval)
        self.done = 0
        self._next = self.step
        self._t0 = self._last = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.done += n
        pct = 100 * self.done // self.total
        now = time.perf_counter()
        if self.done >= self.total or (pct >= self._next
                                       and now - self._last >= self.min_interval):
            self.stream.write(f'{self.done}/{self.total} ({pct}%) {now - self._t0:.1f} s\n')
            self.stream.flush()
            self._next = (pct // self.step + 1) * self.step
            self._last = now


def progress_bar(total: int, enabled: bool):
    """A progress bar: mmengine's on a terminal, :class:`LineProgress` otherwise; or None."""
    if not enabled:
        return None
    if sys.stdout.isatty():
        from mmengine.utils import ProgressBar
        return ProgressBar(total)
    return LineProgress(total)


def tick(bar) -> None:
    if bar is not None:
        bar.update()


def check_out_root(root: str, overwrite: bool = False) -> None:
    """Refuse to write a dataset into a non-empty folder unless ``overwrite``.

    Raises:
        FileExistsError: ``root`` is a file, or a non-empty folder and ``overwrite`` is False
            (the message names the folder and a few of its entries).
    """
    if osp.exists(root) and not osp.isdir(root):
        raise FileExistsError(f'output path {root} exists and is not a folder')
    entries = sorted(os.listdir(root)) if osp.isdir(root) else []
    if entries and not overwrite:
        shown = ', '.join(entries[:5]) + (', ...' if len(entries) > 5 else '')
        raise FileExistsError(
            f'output folder {root} is not empty ({len(entries)} entries: {shown}); writing '
            'into it would mix old and new files. Choose an empty folder or pass --overwrite '
            'to replace its contents')


def _remove(path: str) -> None:
    if osp.isdir(path) and not osp.islink(path):
        shutil.rmtree(path)
    elif osp.lexists(path):
        os.remove(path)


@contextmanager
def fresh_out_root(root: str, overwrite: bool = False) -> Iterator[str]:
    """Write a dataset into a temporary sibling folder that replaces ``root`` on success.

    Yields ``<root>.partial`` (emptied first: it can only be left over from an interrupted
    run); when the block finishes, an existing ``root`` (allowed by :func:`check_out_root`:
    empty, or ``overwrite``) is removed and the new folder renamed to ``root``. So ``root``
    never holds a mix of old and new files, and an interrupted run leaves ``root`` as it was.
    On an exception the partial folder is removed.
    """
    check_out_root(root, overwrite)
    tmp = root.rstrip('/\\') + '.partial'
    _remove(tmp)
    os.makedirs(tmp)
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    _remove(root)
    os.replace(tmp, root)
