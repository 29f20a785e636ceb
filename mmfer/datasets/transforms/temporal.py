# Copyright (c) mmfer contributors. All rights reserved.
"""Temporal views of SSL-FER (Shu et al. 2022, §3.2-3.3): TimeAug positives, HardNeg negatives.

Both are *dataset-aware* transforms: they need ``results['frame_index']`` (the shared
:class:`~mmfer.datasets.video_frames.VideoFrameIndex` that :class:`VoxCelebFrames` attaches)
and ``results['frame_pos']`` (the anchor's position in it). They add a view dict
``results['views'][role]`` with ``img``, ``img_path``, ``img_shape``, ``ori_shape``,
``frame``, ``time_offset`` (s) and, when known, ``gt_keypoints`` (K, 2).
"""
from typing import Optional

import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmfer.registry import TRANSFORMS
from .loading import decode_image
from .utils import check_bgr_image, describe, get_rng, make_rng, randint


def _check_index(results: dict, owner: str):
    idx = results.get('frame_index')
    if idx is None or results.get('frame_pos') is None:
        raise KeyError(f'{owner} needs results["frame_index"] and results["frame_pos"] from a '
                       f'video-frame dataset such as VoxCelebFrames ({describe(results)})')
    return idx, int(results['frame_pos'])


def load_frame(index, pos: int, backend_args: Optional[dict] = None,
               color_type: str = 'color') -> dict:
    """Decode frame ``pos`` of ``index`` into a view dict (img, paths, shapes, landmarks)."""
    path = str(index.img_paths[pos])
    try:
        buf = fileio.get(path, backend_args=backend_args)
    except Exception as e:  # noqa: BLE001 - re-raised with the path
        raise OSError(f'cannot read frame {path}: {e}') from e
    img = decode_image(buf, path, 'frame', flag=color_type)
    view = dict(img=img, img_path=path, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                frame=int(index.frame[pos]), frame_pos=int(pos),
                identity=int(index.identity[pos]), video=int(index.video[pos]))
    kpts = index.get_keypoints(pos)
    if kpts is not None:
        view['gt_keypoints'] = kpts
    return view


def _empty_view(like: np.ndarray) -> dict:
    """Placeholder view (zero image, no frame) for a missing hard negative."""
    return dict(img=np.zeros_like(like), img_path=None, img_shape=like.shape[:2],
                ori_shape=like.shape[:2], frame=-1, time_offset=0.0)


@TRANSFORMS.register_module()
class TimeAug(BaseTransform):
    """Temporal positive: a frame ``t + Δ`` of the anchor's video.

    ``|Δ|`` (seconds) has a decreasing ("downscale") density on ``[0, max_offset]``
    (``T1`` = 1 s); with ``distribution='linear'`` (default) the triangular density
    ``p(δ) = 2 (1 - δ / T1) / T1`` (mean ``T1 / 3``; sampled as ``T1 (1 - sqrt(1 - U))``), with
    ``'uniform'`` a flat one for ablations. The sign is random (½ / ½). If ``t ± δ`` falls
    outside the video the other sign is used; the frame whose time is closest to the target is
    taken (so the shortest videos are "clipped": Δ is bounded by the video, and with
    ``allow_same=False`` Δ = 0 draws become the nearest other frame).

    With ``anchor_role='hardneg'`` the frame ``t`` is the hard negative's (``views['hardneg']``,
    made by :class:`HardNeg` before): the result is the hard negative's own positive
    (``role='hardneg_positive'``), so that the hard negative is a full instance of the batch
    (a hard-negative *pair*, SSL-FER Fig. 4). When the hard negative is missing
    (``hardneg_valid`` False) the view is a zero image like the hard negative's.

    Required keys: ``frame_index``, ``frame_pos`` (and ``views[anchor_role]``). Added:
    ``views[role]`` (see module doc) and, for ``anchor_role='anchor'``, ``time_offset`` (signed
    Δ in seconds).

    Args:
        max_offset (float): ``T1`` in seconds. Defaults to 1.
        distribution (str): ``'linear'`` or ``'uniform'``.
        allow_same (bool): Allow Δ = 0 (the anchor frame itself). Defaults to False.
        role (str): View name. Defaults to ``'positive'``.
        anchor_role (str): The view whose frame is ``t``: ``'anchor'`` (default, the sample
            itself) or another view with a ``frame_pos`` (``'hardneg'``).
        backend_args (dict, optional): File backend of the frames.
        seed (int, optional): Seed of a private generator; None uses ``np.random``.
    """

    def __init__(self, max_offset: float = 1.0, distribution: str = 'linear',
                 allow_same: bool = False, role: str = 'positive', anchor_role: str = 'anchor',
                 backend_args: Optional[dict] = None, seed: Optional[int] = None) -> None:
        if role == anchor_role:
            raise ValueError(f'TimeAug: role and anchor_role are both {role!r}')
        if distribution not in ('linear', 'uniform'):
            raise ValueError(f"distribution must be 'linear' or 'uniform', got {distribution!r}")
        if max_offset <= 0:
            raise ValueError(f'max_offset must be > 0, got {max_offset}')
        self.max_offset = float(max_offset)
        self.distribution = distribution
        self.allow_same = bool(allow_same)
        self.role = role
        self.anchor_role = anchor_role
        self.backend_args = backend_args
        self.seed = seed
        self._rng = make_rng(seed)

    def sample_delta(self, rng) -> float:
        """One |Δ| in seconds from the configured density."""
        u = float(rng.uniform())
        if self.distribution == 'uniform':
            return u * self.max_offset
        return self.max_offset * (1.0 - np.sqrt(1.0 - u))

    def sample_position(self, index, pos: int, rng=None) -> int:
        """Position (in ``index``) of the positive frame for anchor position ``pos``."""
        rng = get_rng(self._rng) if rng is None else rng
        sl = index.video_slice(pos)
        times = index.frame[sl] / index.fps
        t0 = index.frame[pos] / index.fps
        delta = self.sample_delta(rng)
        sign = 1.0 if rng.uniform() < 0.5 else -1.0
        target = t0 + sign * delta
        if target < times[0] or target > times[-1]:
            target = t0 - sign * delta
        dist = np.abs(times - target)
        if not self.allow_same and len(times) > 1:
            dist[pos - sl.start] = np.inf
        return sl.start + int(np.argmin(dist))

    def transform(self, results: dict) -> dict:
        index, pos = _check_index(results, 'TimeAug')
        views = results.setdefault('views', {})
        if self.anchor_role != 'anchor':
            src = views.get(self.anchor_role)
            if src is None:
                raise KeyError(f'TimeAug(anchor_role={self.anchor_role!r}): no view '
                               f'{self.anchor_role!r} ({describe(results)}); put the transform '
                               'that makes it (HardNeg) first')
            if src.get('frame_pos') is None:  # missing hard negative: a placeholder too
                views[self.role] = _empty_view(check_bgr_image(src, 'TimeAug'))
                return results
            pos = int(src['frame_pos'])
        new = self.sample_position(index, pos)
        view = load_frame(index, new, self.backend_args)
        view['time_offset'] = float(index.frame[new] - index.frame[pos]) / index.fps
        views[self.role] = view
        if self.anchor_role == 'anchor':
            results['time_offset'] = view['time_offset']
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_offset={self.max_offset}, '
                f'distribution={self.distribution!r}, allow_same={self.allow_same}, '
                f'role={self.role!r}, anchor_role={self.anchor_role!r}, seed={self.seed})')


@TRANSFORMS.register_module()
class HardNeg(BaseTransform):
    """Hard negative: a frame of the anchor's video at least ``min_offset`` (``T2`` = 3 s) away.

    Chosen uniformly among the video's frames with ``|t' - t| >= T2``. When there is none (the
    video is too short around ``t``) the view is a zero image of the anchor's size,
    ``hardneg_valid`` is False (the loss must mask it), and the skip is counted
    (``num_skipped``) and logged (first time, then every ``log_interval`` skips).

    Required keys: ``frame_index``, ``frame_pos``, ``img`` (anchor). Added: ``views[role]``,
    ``hardneg_valid`` (bool).

    Args:
        min_offset (float): ``T2`` in seconds. Defaults to 3.
        role (str): View name. Defaults to ``'hardneg'``.
        log_interval (int): Log every n-th skip. Defaults to 1000.
        backend_args (dict, optional): File backend of the frames.
        seed (int, optional): Seed of a private generator; None uses ``np.random``.
    """

    def __init__(self, min_offset: float = 3.0, role: str = 'hardneg', log_interval: int = 1000,
                 backend_args: Optional[dict] = None, seed: Optional[int] = None) -> None:
        if min_offset <= 0:
            raise ValueError(f'min_offset must be > 0, got {min_offset}')
        self.min_offset = float(min_offset)
        self.role = role
        self.log_interval = int(log_interval)
        self.backend_args = backend_args
        self.seed = seed
        self._rng = make_rng(seed)
        self.num_calls = 0
        self.num_skipped = 0

    def sample_position(self, index, pos: int, rng=None) -> Optional[int]:
        """Position of a hard negative for anchor ``pos``, or None when there is none."""
        rng = get_rng(self._rng) if rng is None else rng
        sl = index.video_slice(pos)
        times = index.frame[sl] / index.fps
        t0 = index.frame[pos] / index.fps
        cand = np.flatnonzero(np.abs(times - t0) >= self.min_offset - 1e-9)
        if len(cand) == 0:
            return None
        return sl.start + int(cand[randint(rng, len(cand))])

    def transform(self, results: dict) -> dict:
        index, pos = _check_index(results, 'HardNeg')
        self.num_calls += 1
        new = self.sample_position(index, pos)
        if new is None:
            self.num_skipped += 1
            if self.num_skipped == 1 or self.num_skipped % self.log_interval == 0:
                print_log(f'HardNeg: no frame >= {self.min_offset:g} s away from '
                          f'{describe(results)} (video {int(index.video[pos])}); '
                          f'{self.num_skipped} of {self.num_calls} samples skipped so far in '
                          'this worker (hardneg_valid=False)', logger='current', level=30)
            view = _empty_view(check_bgr_image(results, 'HardNeg'))
            results['hardneg_valid'] = False
        else:
            view = load_frame(index, new, self.backend_args)
            view['time_offset'] = float(index.frame[new] - index.frame[pos]) / index.fps
            results['hardneg_valid'] = True
        results.setdefault('views', {})[self.role] = view
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_offset={self.min_offset}, role={self.role!r}, '
                f'seed={self.seed})')
