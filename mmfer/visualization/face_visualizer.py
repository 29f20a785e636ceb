# Copyright (c) mmfer contributors. All rights reserved.
"""Drawing of faces, landmarks, local warps and pre-training views."""
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.dist import master_only
from mmengine.visualization import Visualizer

from mmfer.registry import VISUALIZERS

Color = Tuple[int, int, int]


def _to_image(t) -> np.ndarray:
    """A (C, H, W) tensor or (H, W[, C]) array of a pipeline as an (H, W, 3) uint8 array."""
    if hasattr(t, 'detach'):  # packed inputs: C, H, W tensors
        arr = t.detach().cpu().numpy()
        arr = arr.transpose(1, 2, 0) if arr.ndim == 3 else arr
    else:
        arr = np.asarray(t)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2 or arr.shape[2] == 1:
        arr = np.repeat(arr.reshape(arr.shape[:2])[..., None], 3, axis=2)
    return np.ascontiguousarray(arr)


@VISUALIZERS.register_module()
class FaceVisualizer(Visualizer):
    """mmengine ``Visualizer`` for faces: landmarks, local warps and pre-training views.

    Images are RGB, as everywhere in mmengine's visualizers (convert a pipeline's BGR image
    with ``img[..., ::-1]``; :meth:`visualize_views` takes the pipeline's BGR images and
    converts them itself). Landmarks and warps are drawn with OpenCV into the image, so
    they are pixel-exact and mmengine's own ``draw_*`` calls can be mixed in. Coordinates
    are image pixels with pixel centres at integers (as :mod:`mmfer.datasets.landmark_io`).

    Colours (RGB) and what they mean in :meth:`visualize_views` (:meth:`legend` draws them):

    - ``landmark_color`` (orange): landmarks of the original face;
    - ``moved_color`` (red) / ``unmoved_color`` (green): landmarks the local warp moved /
      did not move (weight 0, e.g. outside the view, is not drawn);
    - ``warp_centre_color`` (magenta): warp centre c; ``warp_radius_color`` (light blue):
      the circle of radius r around c; ``warp_arrow_color`` (cyan): the arrow c → m.

    Args:
        name (str): Instance name. Defaults to ``'visualizer'``.
        image (np.ndarray, optional): RGB image to draw on.
        vis_backends (list, optional): mmengine visualization backends.
        save_dir (str, optional): Where the backends save.
        point_radius (int): Landmark radius in pixels. Defaults to 2.
        line_width (int): Warp circle / arrow width. Defaults to 1.
        title_height (int): Height of the title strip of :meth:`visualize_face`.
            Defaults to 22.
    """

    landmark_color: Color = (255, 200, 0)
    moved_color: Color = (255, 0, 0)
    unmoved_color: Color = (0, 200, 0)
    warp_centre_color: Color = (255, 0, 255)
    warp_radius_color: Color = (0, 200, 255)
    warp_arrow_color: Color = (0, 255, 255)

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[dict]] = None,
                 save_dir: Optional[str] = None,
                 point_radius: int = 2,
                 line_width: int = 1,
                 title_height: int = 22) -> None:
        super().__init__(name=name, image=image, vis_backends=vis_backends,
                         save_dir=save_dir)
        self.point_radius = int(point_radius)
        self.line_width = int(line_width)
        self.title_height = int(title_height)

    def _commit(self, image: np.ndarray) -> None:
        """Show the OpenCV-drawn ``image`` in the figure, keeping other drawn artists."""
        self._image = image
        self.ax_save.images[0].set_data(image)

    def _canvas(self) -> np.ndarray:
        if getattr(self, '_image', None) is None:
            raise RuntimeError(f'{type(self).__name__}: call set_image() before drawing')
        return np.ascontiguousarray(self._image.copy())

    @staticmethod
    def _px(p) -> Tuple[int, int]:
        return int(round(float(p[0]))), int(round(float(p[1])))

    @master_only
    def draw_landmarks(self,
                       keypoints: np.ndarray,
                       visible: Optional[np.ndarray] = None,
                       moved: Optional[np.ndarray] = None,
                       color: Optional[Color] = None,
                       radius: Optional[int] = None) -> 'FaceVisualizer':
        """Draw landmarks as filled dots.

        Args:
            keypoints (np.ndarray): (K, 2) (x, y) in image pixels.
            visible (np.ndarray, optional): (K,) bool or weights; points with a falsy / <= 0
                value are not drawn. Defaults to all.
            moved (np.ndarray, optional): (K,) bool: ``moved_color`` for True,
                ``unmoved_color`` for False. Overrides ``color``.
            color (tuple, optional): RGB colour of every point. Defaults to
                ``landmark_color``.
            radius (int, optional): Dot radius. Defaults to ``point_radius``.

        Returns:
            FaceVisualizer: self.
        """
        kpts = np.asarray(keypoints, np.float32).reshape(-1, 2)
        show = (np.ones(len(kpts), bool) if visible is None
                else np.asarray(visible).reshape(-1) > 0)
        if len(show) != len(kpts) or (moved is not None and len(moved) != len(kpts)):
            raise ValueError(f'draw_landmarks: {len(kpts)} keypoints but visible/moved have '
                             f'{len(show)}/{None if moved is None else len(moved)} entries')
        img = self._canvas()
        r = self.point_radius if radius is None else int(radius)
        for i, p in enumerate(kpts):
            if not show[i] or not np.isfinite(p).all():
                continue
            if moved is not None:
                col = self.moved_color if moved[i] else self.unmoved_color
            else:
                col = color or self.landmark_color
            cv2.circle(img, self._px(p), r, tuple(int(c) for c in col), -1, cv2.LINE_AA)
        self._commit(img)
        return self

    @master_only
    def draw_warps(self, warp_params: Sequence[Sequence]) -> 'FaceVisualizer':
        """Draw local warps (ContraWarping Eq. (1)): circle r around c, arrow c → m, dot at c.

        Args:
            warp_params (Sequence): ``(c, m, r)`` or ``(c, m, r, strength)`` tuples (as
                ``RandomLocalWarp`` records them), c and m (x, y) in image pixels.

        Returns:
            FaceVisualizer: self.
        """
        img = self._canvas()
        for c, m, r, *_ in warp_params:
            cv2.circle(img, self._px(c), int(round(float(r))), self.warp_radius_color,
                       self.line_width, cv2.LINE_AA)
            cv2.arrowedLine(img, self._px(c), self._px(m), self.warp_arrow_color,
                            self.line_width + 1, cv2.LINE_AA, tipLength=0.3)
            cv2.circle(img, self._px(c), self.point_radius, self.warp_centre_color, -1,
                       cv2.LINE_AA)
        self._commit(img)
        return self

    #: Box colours (RGB), one per face / track id in turn.
    face_palette: Tuple[Color, ...] = ((0, 200, 255), (255, 80, 80), (80, 220, 80),
                                       (255, 200, 0), (200, 100, 255), (255, 255, 255))
    keypoint5_color: Color = (255, 0, 255)

    @master_only
    def draw_face_result(self,
                         bbox: Sequence[float],
                         lines: Sequence[str] = (),
                         keypoints: Optional[np.ndarray] = None,
                         keypoints5: Optional[np.ndarray] = None,
                         track: int = 0,
                         font_scale: Optional[float] = None) -> 'FaceVisualizer':
        """Draw one detected face: its box, landmarks and text lines (e.g. the top scores).

        Args:
            bbox (Sequence[float]): x1, y1, x2, y2 in image pixels.
            lines (Sequence[str]): Text, written in a filled label above the box (below it
                when there is no room above, else at the image's top).
            keypoints (np.ndarray, optional): (K, 2) landmarks, drawn as small dots in
                ``landmark_color``.
            keypoints5 (np.ndarray, optional): (5, 2) alignment points (NaN skipped), drawn
                in ``keypoint5_color``.
            track (int): Face / track id: picks the box colour from ``face_palette``.
            font_scale (float, optional): Defaults to the image size / 900, in [0.3, 1.2].

        Returns:
            FaceVisualizer: self.
        """
        img = self._canvas()
        h, w = img.shape[:2]
        col = tuple(int(c) for c in self.face_palette[int(track) % len(self.face_palette)])
        thick = max(1, round(min(h, w) / 300))
        x1, y1, x2, y2 = (int(round(float(v))) for v in bbox)
        cv2.rectangle(img, (x1, y1), (x2, y2), col, thick, cv2.LINE_AA)
        r = max(1, thick)
        for pts, c, rad in ((keypoints, self.landmark_color, r),
                            (keypoints5, self.keypoint5_color, r + 1)):
            if pts is None:
                continue
            for p in np.asarray(pts, np.float32).reshape(-1, 2):
                if np.isfinite(p).all():
                    cv2.circle(img, self._px(p), rad, tuple(int(v) for v in c), -1,
                               cv2.LINE_AA)
        if lines:
            font = cv2.FONT_HERSHEY_SIMPLEX
            scale = font_scale or float(np.clip(min(h, w) / 900, 0.3, 1.2))
            sizes = [cv2.getTextSize(t, font, scale, 1) for t in lines]
            lh = max(s[0][1] + s[1] for s in sizes) + 4
            bw = max(s[0][0] for s in sizes) + 6
            bh = lh * len(lines) + 2
            # above the box, else below it, else at the image's top
            top = y1 - bh if y1 - bh >= 0 else (y2 if y2 + bh <= h else 0)
            left = min(max(0, x1), max(0, w - bw))
            cv2.rectangle(img, (left, top), (left + bw, top + bh), col, -1)
            dark = sum(col) > 380  # black text on light boxes
            for i, t in enumerate(lines):
                cv2.putText(img, t, (left + 3, top + (i + 1) * lh - 3), font, scale,
                            (0, 0, 0) if dark else (255, 255, 255), 1, cv2.LINE_AA)
        self._commit(img)
        return self

    def visualize_face(self,
                       image: np.ndarray,
                       keypoints: Optional[np.ndarray] = None,
                       visible: Optional[np.ndarray] = None,
                       moved: Optional[np.ndarray] = None,
                       warp_params: Optional[Sequence] = None,
                       title: Optional[str] = None,
                       resize: Optional[int] = None,
                       color: Optional[Color] = None) -> np.ndarray:
        """One face with its landmarks and warps, scaled into a ``resize`` square, titled.

        Args:
            image (np.ndarray): (H, W, 3) RGB uint8.
            keypoints, visible, moved, color: See :meth:`draw_landmarks` (in ``image``
                pixels).
            warp_params (Sequence, optional): See :meth:`draw_warps` (in ``image`` pixels).
            title (str, optional): Text of a white strip of ``title_height`` px above.
            resize (int, optional): The longer side is scaled to this (aspect kept, the
                rest padded white to a square). None keeps the size.

        Returns:
            np.ndarray: RGB uint8, (resize [+ title_height], resize, 3).
        """
        image = _to_image(image)
        h, w = image.shape[:2]
        s = 1.0 if resize is None else resize / max(h, w)
        size = (w, h) if resize is None else (resize, resize)
        body = np.full((size[1], size[0], 3), 255, np.uint8)
        scaled = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))),
                            interpolation=cv2.INTER_LINEAR) if s != 1.0 else image
        body[:scaled.shape[0], :scaled.shape[1]] = scaled

        def to_view(p):  # pixel centres at integers in both images
            return (np.asarray(p, np.float32) + 0.5) * s - 0.5

        self.set_image(body)
        if warp_params:
            self.draw_warps([(to_view(c), to_view(m), float(r) * s)
                             for c, m, r, *_ in warp_params])
        if keypoints is not None:
            self.draw_landmarks(to_view(np.asarray(keypoints).reshape(-1, 2)), visible, moved,
                                color)
        out = self.get_image()
        if title is None:
            return out
        strip = np.full((self.title_height, out.shape[1], 3), 255, np.uint8)
        cv2.putText(strip, title, (3, self.title_height - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
        return np.concatenate([strip, out], axis=0)

    def visualize_views(self, original: Dict, packed: Dict, cell: int = 224) -> np.ndarray:
        """One row: the original face and every view of a packed pre-training sample.

        - ContraWarping samples (``PackContraWarpInputs``: ``keypoints`` and ``warp_params``):
          original / x1 / x2 / x3 = RW(x1), landmarks on the original, x1 and x3 (moved red,
          unmoved green, from ``original['warp_moved']`` or else the larger keypoint
          weight), warps on x3;
        - multi-view samples (``PackMultiViewInputs``, e.g. SSL-FER): original / one cell per
          view role titled with the frame, Δt, FaceSwap and validity.

        Args:
            original (dict): ``img`` (BGR, before the view transforms), optional
                ``keypoints`` (K, 2) and ``warp_moved`` (K,) bool.
            packed (dict): The pipeline output (``inputs`` list of BGR CHW tensors,
                ``data_samples``).
            cell (int): Cell size in pixels.

        Returns:
            np.ndarray: RGB row image (cell + title_height, n_cells * cell, 3).
        """
        ds = packed['data_samples']
        views = [_to_image(t)[..., ::-1] for t in packed['inputs']]
        cells = [self.visualize_face(_to_image(original['img'])[..., ::-1],
                                     original.get('keypoints'), title='original',
                                     resize=cell, color=self.landmark_color)]
        if 'keypoints' in ds and 'warp_params' in ds.metainfo:  # ContraWarping
            kp = ds.keypoints.numpy()
            kw = ds.keypoint_weights.numpy()
            has = bool(ds.has_landmarks)
            moved = original.get('warp_moved')
            if moved is None:
                moved = kw[0] >= kw[0].max()
            cells.append(self.visualize_face(views[0], kp[0] if has else None, kw[0],
                                             moved, title='x1' + ('' if has else
                                                                  ' (no landmarks)'),
                                             resize=cell))
            cells.append(self.visualize_face(views[1], title='x2', resize=cell))
            cells.append(self.visualize_face(views[2], kp[1] if has else None, kw[1], moved,
                                             ds.metainfo['warp_params'], title='x3 = RW(x1)',
                                             resize=cell))
        else:
            roles = ds.metainfo.get('view_roles', [f'view{i}' for i in range(len(views))])
            info = ds.metainfo.get('view_info', {})
            for role, img in zip(roles, views):
                title = role
                vi = info.get(role, {})
                if role == 'anchor' and 'frame' in ds:
                    title += f' f{int(ds.frame)}'
                if 'time_offset' in vi and vi.get('frame', -1) != -1:
                    title += f' d={vi["time_offset"]:+.2f}s'
                if role == 'positive' and 'face_swapped' in ds and bool(ds.face_swapped):
                    title += f' swap id{vi.get("swap_identity", "?")}'
                if role == 'hardneg' and 'hardneg_valid' in ds and not bool(ds.hardneg_valid):
                    title += ' (none)'
                cells.append(self.visualize_face(img, title=title, resize=cell))
        return np.concatenate(cells, axis=1)

    def legend(self, width: int, warps: bool = True) -> np.ndarray:
        """A white RGB strip explaining the colours of :meth:`visualize_views`.

        Args:
            width (int): Strip width in pixels (entries wrap onto more lines).
            warps (bool): Include the landmark-movement and warp entries (ContraWarping).

        Returns:
            np.ndarray: (n_lines * 20 + 4, width, 3) uint8 RGB.
        """
        entries = [('dot', self.landmark_color, 'landmark (original)')]
        if warps:
            entries += [('dot', self.moved_color, 'landmark moved by the warp'),
                        ('dot', self.unmoved_color, 'landmark not moved'),
                        ('dot', self.warp_centre_color, 'warp centre c'),
                        ('ring', self.warp_radius_color, 'warp radius r'),
                        ('arrow', self.warp_arrow_color, 'warp c -> m')]
        font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.42
        lines, line, x = [], [], 4
        for kind, col, text in entries:
            w_text = cv2.getTextSize(text, font, scale, 1)[0][0] + 30
            if line and x + w_text > width:
                lines.append(line)
                line, x = [], 4
            line.append((x, kind, col, text))
            x += w_text
        lines.append(line)
        strip = np.full((len(lines) * 20 + 4, width, 3), 255, np.uint8)
        for row, items in enumerate(lines):
            y = 12 + row * 20
            for x, kind, col, text in items:
                col = tuple(int(c) for c in col)
                if kind == 'dot':
                    cv2.circle(strip, (x + 8, y), 4, col, -1, cv2.LINE_AA)
                elif kind == 'ring':
                    cv2.circle(strip, (x + 8, y), 6, col, 1, cv2.LINE_AA)
                else:
                    cv2.arrowedLine(strip, (x + 1, y), (x + 16, y), col, 2, cv2.LINE_AA,
                                    tipLength=0.4)
                cv2.putText(strip, text, (x + 20, y + 5), font, scale, (0, 0, 0), 1,
                            cv2.LINE_AA)
        return strip


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str], cols: int = 8,
               cell: int = 112, visualizer: Optional[FaceVisualizer] = None) -> np.ndarray:
    """RGB images in a grid of ``cols`` columns, each scaled into a ``cell`` square with its
    title above (e.g. the worst predictions of ``analyze_results.py``).

    Args:
        images (Sequence[np.ndarray]): (H, W, 3) RGB uint8 images (None: a grey cell).
        titles (Sequence[str]): One title per image.
        cols (int): Columns. Defaults to 8.
        cell (int): Cell size in pixels. Defaults to 112.
        visualizer (FaceVisualizer, optional): Reused for drawing.

    Returns:
        np.ndarray: RGB uint8 grid.
    """
    if len(images) != len(titles) or not images:
        raise ValueError(f'image_grid: {len(images)} images and {len(titles)} titles')
    vis = visualizer or FaceVisualizer(name=f'image_grid_{id(images)}')
    cells = [vis.visualize_face(img if img is not None else
                                np.full((cell, cell, 3), 200, np.uint8), title=t, resize=cell)
             for img, t in zip(images, titles)]
    blank = np.full_like(cells[0], 255)
    rows = []
    for i in range(0, len(cells), cols):
        row = cells[i:i + cols]
        row += [blank] * (cols - len(row)) if len(cells) > cols else []
        rows.append(np.concatenate(row, axis=1))
    return stack_rows(rows)


def has_display() -> bool:
    """Whether a window can be opened (``--show``): X11 / Wayland on Linux, assumed on
    other systems."""
    import os
    import sys
    if sys.platform.startswith('linux'):
        return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))
    return True


def stack_rows(rows: Sequence[np.ndarray], gap: int = 4) -> np.ndarray:
    """Stack images vertically, padding every row to the widest with white (and ``gap`` px
    below each)."""
    width = max(r.shape[1] for r in rows)
    return np.concatenate([np.pad(r, ((0, gap), (0, width - r.shape[1]), (0, 0)),
                                  constant_values=255) for r in rows], axis=0)
