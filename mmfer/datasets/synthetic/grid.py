# Copyright (c) mmfer contributors. All rights reserved.
"""A picture of the generator: rows = expressions, columns = people, landmarks drawn."""
import math

import cv2
import numpy as np

from .face_model import EXPRESSION_CLASSES
from .generator import SyntheticFaceGenerator

#: iBUG 300-W landmark groups (jaw, brows, nose, eyes, mouth) and their BGR colours.
LANDMARK_GROUPS = ((range(0, 17), (0, 255, 255)), (range(17, 27), (255, 128, 0)),
                   (range(27, 36), (0, 200, 0)), (range(36, 48), (255, 0, 255)),
                   (range(48, 68), (0, 0, 255)))
LABEL_WIDTH = 110


def draw_landmarks(img: np.ndarray, kpts: np.ndarray, zoom: int = 1) -> None:
    """Draw (68, 2) landmarks (pixels of the unzoomed face) on ``img`` in place."""
    for idx, colour in LANDMARK_GROUPS:
        for x, y in kpts[list(idx)]:
            cv2.circle(img, (int(round(x * zoom * 16)), int(round(y * zoom * 16))),
                       max(16, zoom * 12), colour, -1, cv2.LINE_AA, 4)


def face_grid(num: int = 32, seed: int = 0, image_size: int = 112, zoom: int = 2,
              landmarks: bool = True) -> np.ndarray:
    """A BGR grid: one row per expression (labelled), ``ceil(num / 8)`` people as columns.

    Returns:
        np.ndarray: (8 * S * zoom, 110 + cols * S * zoom, 3) uint8.
    """
    if num < 1 or zoom < 1:
        raise ValueError(f'num and zoom must be >= 1, got {num}, {zoom}')
    gen = SyntheticFaceGenerator(image_size, seed=seed)
    cols = max(1, math.ceil(num / len(EXPRESSION_CLASSES)))
    side = image_size * zoom
    grid = np.full((len(EXPRESSION_CLASSES) * side, LABEL_WIDTH + cols * side, 3), 255,
                   np.uint8)
    for r, expression in enumerate(EXPRESSION_CLASSES):
        cv2.putText(grid, expression, (4, r * side + side // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 0, 0), 1, cv2.LINE_AA)
        for c in range(cols):
            face = gen.render(identity=c, expression=expression, intensity=1.0,
                              seed=seed * 1000 + r * cols + c)
            img = cv2.resize(face['img'], (side, side), interpolation=cv2.INTER_CUBIC)
            if landmarks:
                draw_landmarks(img, face['keypoints'], zoom)
            x0 = LABEL_WIDTH + c * side
            grid[r * side:(r + 1) * side, x0:x0 + side] = img
    return grid
