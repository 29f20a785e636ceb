# Copyright (c) mmfer contributors. All rights reserved.
"""Faces over video frames: an IoU tracker and exact centred per-track smoothing.

Videos are read frame by frame; faces are linked over frames by :class:`IoUTracker` (greedy
IoU matching to the tracks of the last ``max_age`` frames) and, with ``smooth='mean'`` or
``'median'``, each track's logits (VA values) are smoothed over a centred window of ``window``
of its detections (:func:`mmfer.evaluation.abaw5.smooth_logits`, exactly as for a whole
track: frames are emitted ``window // 2`` detections late, or when the track ends).
"""
from collections import deque
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np


class IoUTracker:
    """Links faces over video frames: each new box joins the unmatched track whose last box
    overlaps it most (IoU >= ``iou_thr``, greedy, best pairs first); other boxes start new
    tracks; a track unseen for more than ``max_age`` frames ends.

    Args:
        iou_thr (float): Minimum IoU of a match. Defaults to 0.3.
        max_age (int): Frames a track survives without a detection. Defaults to 5.
    """

    def __init__(self, iou_thr: float = 0.3, max_age: int = 5) -> None:
        if not 0 < iou_thr <= 1:
            raise ValueError(f'iou_thr must be in (0, 1], got {iou_thr}')
        if max_age < 0:
            raise ValueError(f'max_age must be >= 0, got {max_age}')
        self.iou_thr = float(iou_thr)
        self.max_age = int(max_age)
        self.tracks: Dict[int, Tuple[np.ndarray, int]] = {}  # id -> (last box, last frame)
        self.next_id = 0

    @staticmethod
    def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(N, M) IoU of xyxy boxes ``a`` (N, 4) and ``b`` (M, 4)."""
        a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
        lt = np.maximum(a[:, None, :2], b[None, :, :2])
        rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
        inter = np.clip(rb - lt, 0, None).prod(-1)
        area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
        union = area(a)[:, None] + area(b)[None] - inter
        return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)

    def update(self, frame: int, bboxes: np.ndarray) -> List[int]:
        """Track ids of this frame's ``bboxes`` (N, 4)."""
        self.tracks = {t: v for t, v in self.tracks.items() if frame - v[1] <= self.max_age}
        ids = list(self.tracks)
        out = [-1] * len(bboxes)
        if ids and len(bboxes):
            iou = self.iou(bboxes, np.stack([self.tracks[t][0] for t in ids]))
            for flat in np.argsort(-iou, axis=None, kind='stable'):
                i, j = np.unravel_index(flat, iou.shape)
                if iou[i, j] < self.iou_thr:
                    break
                if out[i] == -1 and ids[j] not in out:
                    out[i] = ids[j]
        for i, box in enumerate(bboxes):
            if out[i] == -1:
                out[i] = self.next_id
                self.next_id += 1
            self.tracks[out[i]] = (np.asarray(box, np.float64), frame)
        return out

    def alive(self, track: int, frame: int) -> bool:
        """Whether ``track`` can still get a detection in the frame after ``frame``."""
        return track in self.tracks and frame + 1 - self.tracks[track][1] <= self.max_age


class TrackSmoother:
    """Centred temporal smoothing of per-track values, emitted as soon as they are final.

    A face's smoothed value is :func:`~mmfer.evaluation.abaw5.smooth_logits` of its track's
    whole sequence of values (one per detection, the window truncated at the track's ends) at
    its position, so a frame is held back until each of its faces has ``window // 2`` later
    detections or its track has ended.

    Args:
        method (str): ``'mean'`` or ``'median'`` (``'none'`` passes frames through).
        window (int): Odd window length in detections.
    """

    def __init__(self, method: str, window: int) -> None:
        from mmfer.evaluation.abaw5 import check_smoothing
        check_smoothing(method, window)
        self.method, self.window, self.half = method, int(window), int(window) // 2
        self.values: Dict[int, List[np.ndarray]] = {}
        self.pending: deque = deque()  # (payload, [(face, track, position)])

    def push(self, payload: Any, faces: Sequence[dict], key: str) -> None:
        """Add a frame: every face dict has ``track_id`` and ``face[key]`` (the raw values)."""
        entries = []
        for face in faces:
            if key not in face:
                continue
            seq = self.values.setdefault(face['track_id'], [])
            seq.append(np.asarray(face[key], np.float64))
            entries.append((face, face['track_id'], len(seq) - 1))
        self.pending.append((payload, entries))

    def pop(self, tracker: Optional[IoUTracker] = None, frame: int = 0,
            final: bool = False) -> Iterator[Tuple[Any, List[Tuple[dict, np.ndarray]]]]:
        """Yield ``(payload, [(face, smoothed value)])`` of the frames that are final.

        Args:
            tracker (IoUTracker, optional): Says which tracks can still grow.
            frame (int): The last frame pushed.
            final (bool): The video ended: flush everything.
        """
        from mmfer.evaluation.abaw5 import smooth_logits
        while self.pending:
            payload, entries = self.pending[0]
            ready = final or all(
                len(self.values[t]) > pos + self.half or tracker is None
                or not tracker.alive(t, frame) for _, t, pos in entries)
            if not ready:
                return
            self.pending.popleft()
            out = []
            for face, t, pos in entries:
                seq = self.values[t]
                lo, hi = max(0, pos - self.half), min(len(seq), pos + self.half + 1)
                out.append((face, smooth_logits(np.stack(seq[lo:hi]), self.method,
                                                self.window)[pos - lo]))
            yield payload, out


__all__ = ['IoUTracker', 'TrackSmoother']
