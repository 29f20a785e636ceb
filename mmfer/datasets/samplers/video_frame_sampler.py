# Copyright (c) mmfer contributors. All rights reserved.
"""Samplers for frame-level video datasets: per-epoch frame subsampling, class balancing."""
import math
from typing import Iterator, Optional, Sized

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.logging import print_log
from torch.utils.data import Sampler

from mmfer.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class VideoFrameSampler(Sampler):
    """mmengine's ``DefaultSampler`` that draws each epoch's frames from the dataset.

    At every epoch the candidate indices are ``dataset.sample_indices(epoch, seed)`` when the
    dataset has that method (the Aff-Wild2 datasets: one frame in ``frame_interval`` per
    video with a random per-video offset), otherwise all indices. They are then shuffled
    (``shuffle=True``) or, with ``class_balanced=True``, drawn with replacement with
    probability proportional to ``1 / count(class)`` of the epoch's candidates (every
    present class is equally likely), and finally split across ranks like
    ``DefaultSampler`` (``round_up`` pads by repeating the start).

    Everything depends only on ``(seed, epoch)`` and ``seed`` is synchronised across ranks,
    so all ranks agree on the epoch's frames. The epoch is set by mmengine through
    :meth:`set_epoch` (``DistSamplerSeedHook`` in epoch-based loops; the iteration-based
    loop's infinite iterator when a pass is exhausted). As the number of frames of an epoch
    depends on the drawn offsets, :meth:`__len__` is the length of the *current* epoch.

    Args:
        dataset (Sized): The dataset.
        shuffle (bool): Shuffle the epoch's indices. Defaults to True.
        seed (int, optional): Random seed, synchronised across ranks when None.
        round_up (bool): Pad so that every rank gets the same number of samples.
            Defaults to True.
        class_balanced (bool): Class-balanced sampling with replacement (needs
            ``dataset.get_cat_ids`` or ``dataset.get_gt_labels``). Defaults to False.
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True,
                 class_balanced: bool = False) -> None:
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.round_up = round_up
        self.class_balanced = class_balanced
        self._labels: Optional[np.ndarray] = None
        self.epoch = 0
        if class_balanced:
            labels = self._all_labels()
            counts = np.bincount(labels[labels >= 0])
            print_log(
                f'{type(self).__name__}: class-balanced sampling over '
                f'{int((counts > 0).sum())} classes (counts {counts.tolist()})',
                logger='current')
        self._set_sizes(len(self._candidates()))

    # ---------------------------------------------------------------- helpers
    def _all_labels(self) -> np.ndarray:
        if self._labels is None:
            ds = self.dataset
            if hasattr(ds, 'get_gt_labels'):
                labels = np.asarray(ds.get_gt_labels(), dtype=np.int64).reshape(-1)
            elif hasattr(ds, 'get_cat_ids'):
                labels = np.asarray([ds.get_cat_ids(i)[0] for i in range(len(ds))],
                                    dtype=np.int64)
            else:
                raise TypeError(f'class_balanced=True needs a dataset with get_gt_labels() '
                                f'or get_cat_ids(); {type(ds).__name__} has neither')
            if len(labels) != len(ds):
                raise ValueError(f'{type(ds).__name__}: {len(labels)} labels for '
                                 f'{len(ds)} samples')
            self._labels = labels
        return self._labels

    def _candidates(self) -> np.ndarray:
        if hasattr(self.dataset, 'sample_indices'):
            return np.asarray(self.dataset.sample_indices(self.epoch, self.seed),
                              dtype=np.int64)
        return np.arange(len(self.dataset), dtype=np.int64)

    def _set_sizes(self, n: int) -> None:
        if self.round_up:
            self.num_samples = math.ceil(n / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil((n - self.rank) / self.world_size)
            self.total_size = n

    # ---------------------------------------------------------------- sampler API
    def epoch_indices(self) -> np.ndarray:
        """All ranks' indices of the current epoch, before sharding."""
        candidates = self._candidates()
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        if self.class_balanced:
            labels = self._all_labels()[candidates]
            valid = labels >= 0
            if not valid.any():
                raise ValueError('class_balanced=True: no labelled sample in this epoch')
            counts = np.bincount(labels[valid])
            weights = np.zeros(len(candidates), dtype=np.float64)
            weights[valid] = 1.0 / counts[labels[valid]]
            draws = torch.multinomial(torch.from_numpy(weights), len(candidates),
                                      replacement=True, generator=g)
            indices = candidates[draws.numpy()]
        elif self.shuffle:
            indices = candidates[torch.randperm(len(candidates), generator=g).numpy()]
        else:
            indices = candidates
        return indices

    def __iter__(self) -> Iterator[int]:
        indices = self.epoch_indices().tolist()
        self._set_sizes(len(indices))
        if self.round_up and indices:
            indices = (indices * int(self.total_size / len(indices) + 1))[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        """Number of samples of this rank in the current epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch: the next iteration draws that epoch's frames."""
        self.epoch = int(epoch)
        self._set_sizes(len(self._candidates()))


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(VideoFrameSampler):
    """:class:`VideoFrameSampler` with ``class_balanced=True``.

    Every class is drawn equally often in expectation (sampling with replacement, weights
    ``1 / count(class)``); for Aff-Wild2 datasets the candidates of an epoch are its
    subsampled frames. Works with any dataset exposing ``get_gt_labels``/``get_cat_ids``.

    Args:
        dataset (Sized): The dataset.
        seed (int, optional): Random seed, synchronised across ranks when None.
        round_up (bool): Pad so that every rank gets the same number of samples.
    """

    def __init__(self, dataset: Sized, seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        super().__init__(dataset, shuffle=True, seed=seed, round_up=round_up,
                         class_balanced=True)
