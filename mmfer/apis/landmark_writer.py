# Copyright (c) mmfer contributors. All rights reserved.
"""A resumable, shardable writer of landmark files (:mod:`mmfer.datasets.landmark_io`)."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmfer.datasets.landmark_io import NUM_FACE_LANDMARKS, load_landmarks, save_landmarks

LandmarkTable = Dict[str, Tuple[np.ndarray, np.ndarray]]


def part_path(out: str, rank: int) -> str:
    """Progress file of process ``rank``: ``<out>.part<rank>.npz``."""
    return f'{out}.part{rank}.npz'


def existing_parts(out: str) -> List[str]:
    """Progress files of ``out`` left by this or an interrupted run, sorted."""
    folder = osp.dirname(osp.abspath(out))
    if not osp.isdir(folder):
        return []
    prefix = osp.basename(out) + '.part'
    return sorted(osp.join(folder, f) for f in os.listdir(folder)
                  if f.startswith(prefix) and f.endswith('.npz'))


def load_done(out: str, num_keypoints: int = NUM_FACE_LANDMARKS) -> LandmarkTable:
    """Landmarks already extracted: ``out`` plus every part file of an interrupted run."""
    done: LandmarkTable = {}
    for path in ([out] if osp.isfile(out) else []) + existing_parts(out):
        done.update(load_landmarks(path, num_keypoints))
    return done


def save_table(path: str, table: LandmarkTable, order: Optional[Sequence[str]] = None,
               num_keypoints: int = NUM_FACE_LANDMARKS) -> None:
    """Write ``table`` atomically, keys in ``order`` first (then the others, sorted)."""
    keys = [k for k in order if k in table] if order is not None else sorted(table)
    keys += sorted(set(table) - set(keys))
    kpts = (np.stack([table[k][0] for k in keys]) if keys
            else np.zeros((0, num_keypoints, 2), np.float32))
    scores = (np.stack([table[k][1] for k in keys]) if keys
              else np.zeros((0, num_keypoints), np.float32))
    save_landmarks(path, keys, kpts, scores)


class LandmarkFileWriter:
    """Collects landmarks of one process and saves them so that a killed run can resume.

    Every process (``rank``) keeps its new landmarks in ``<out>.part<rank>.npz``
    (:meth:`add` + :meth:`flush`); :meth:`merge` (rank 0, after all processes finished)
    writes ``out`` from ``out`` + every part file and removes the part files.

    Args:
        out (str): The landmark file.
        rank (int): This process. Defaults to 0.
        resume (bool): Continue a previous run. Without it an existing ``out`` or part file
            is an error (nothing is overwritten). Defaults to False.

    Raises:
        FileExistsError: ``out`` or a part file exists and ``resume`` is False.
    """

    def __init__(self, out: str, rank: int = 0, resume: bool = False) -> None:
        if (osp.isfile(out) or existing_parts(out)) and not resume:
            raise FileExistsError(f'{out} (or its part files) exists: pass --resume to '
                                  'continue, or remove it')
        self.out = out
        self.rank = rank
        self.part = part_path(out, rank)
        self.table: LandmarkTable = load_landmarks(self.part) if osp.isfile(self.part) else {}

    def done(self) -> LandmarkTable:
        """Everything already written by any process (``out`` and the part files)."""
        return load_done(self.out)

    def add(self, key: str, keypoints: np.ndarray, scores: np.ndarray) -> None:
        self.table[key] = (np.asarray(keypoints, np.float32), np.asarray(scores, np.float32))

    def flush(self) -> None:
        """Save this process's landmarks to its part file."""
        save_table(self.part, self.table)

    def merge(self, order: Optional[Sequence[str]] = None) -> LandmarkTable:
        """Write ``out`` from ``out`` + all part files (keys in ``order``); remove the parts."""
        table = load_done(self.out)
        save_table(self.out, table, order=order)
        for p in existing_parts(self.out):
            os.remove(p)
        return table
