# Copyright (c) mmfer contributors. All rights reserved.
"""Where the face box of an image comes from (for :class:`~mmfer.apis.FaceLandmarkInferencer`).

A *box source* is any callable ``source(key, img) -> (4,) float32 xyxy box or None``:
``key`` is the image's name (its path relative to the data root for the landmark tool),
``img`` the decoded (H, W, 3) BGR image; None means "no face box for this image" and the
image is reported as failed (never guessed). Box sources run in DataLoader workers, so they
must be picklable. Shipped sources:

- :class:`BoxFile`: boxes from a ``relpath x1 y1 x2 y2`` text file;
- :class:`WholeImageBox`: the whole image is the face, **only** for aligned face crops
  (MS1M ``faces_emore``, VoxCeleb crops, RAF-DB ``aligned``, Aff-Wild2 ``cropped_aligned``);
- :class:`FirstBox`: the first box any of several sources gives (e.g. a box file, then the
  whole image for the rest of an aligned set).

A face detector plugs in as one more callable of the same signature.
"""
from typing import Callable, Dict, Optional, Sequence

import numpy as np

#: ``source(key, img) -> xyxy box or None``.
BoxSource = Callable[[str, np.ndarray], Optional[np.ndarray]]


def read_bbox_file(path: str) -> Dict[str, np.ndarray]:
    """``relpath x1 y1 x2 y2`` lines -> {relpath: (4,) xyxy}; errors name file and line.

    Blank lines and ``#`` comments are skipped; commas count as separators.
    """
    boxes = {}
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            parts = line.replace(',', ' ').split()
            try:
                if len(parts) != 5:
                    raise ValueError
                box = np.array([float(v) for v in parts[1:]], np.float32)
            except ValueError:
                raise ValueError(f'{path}:{lineno}: expected "relpath x1 y1 x2 y2", '
                                 f'got {line!r}') from None
            if not np.isfinite(box).all() or not (box[2] > box[0] and box[3] > box[1]):
                raise ValueError(f'{path}:{lineno}: empty box {box.tolist()}')
            if parts[0] in boxes:
                raise ValueError(f'{path}:{lineno}: second box for {parts[0]} (one face '
                                 'per image)')
            boxes[parts[0]] = box
    return boxes


class BoxFile:
    """Face boxes from a ``relpath x1 y1 x2 y2`` file (see :func:`read_bbox_file`).

    Args:
        path (str): The box file; keys are image paths relative to the data root.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.boxes = read_bbox_file(path)

    def __call__(self, key: str, img: np.ndarray) -> Optional[np.ndarray]:
        return self.boxes.get(key)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.path!r}, {len(self.boxes)} boxes)'


class WholeImageBox:
    """The whole image is the face box: for **aligned face crops only**.

    On an uncropped photo this box makes the landmark model predict a face the size of the
    picture (landmarks far from the real face, partly outside the image); use a box file or
    a detector there.
    """

    def __call__(self, key: str, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        return np.array([0, 0, w, h], dtype=np.float32)

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


class FirstBox:
    """The first box that one of ``sources`` gives (None when none does)."""

    def __init__(self, sources: Sequence[BoxSource]) -> None:
        self.sources = list(sources)

    def __call__(self, key: str, img: np.ndarray) -> Optional[np.ndarray]:
        for source in self.sources:
            box = source(key, img)
            if box is not None:
                return box
        return None

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.sources})'


def build_box_source(bbox_file: Optional[str] = None, aligned: bool = False) -> BoxSource:
    """The landmark tool's box source: ``--bbox-file`` boxes, then (``--aligned``) the image.

    Raises:
        ValueError: neither a box file nor ``aligned``: there is no face box to use.
    """
    sources = []
    if bbox_file:
        sources.append(BoxFile(bbox_file))
    if aligned:
        sources.append(WholeImageBox())
    if not sources:
        raise ValueError(
            'no face boxes: pass --bbox-file with "relpath x1 y1 x2 y2" lines, or --aligned if '
            'the images are aligned face crops (e.g. MS1M faces_emore, VoxCeleb face crops), '
            'in which case the whole image is the face box. On uncropped photos the whole '
            'image gives landmarks far from the face.')
    return sources[0] if len(sources) == 1 else FirstBox(sources)
