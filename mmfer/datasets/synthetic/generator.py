# Copyright (c) mmfer contributors. All rights reserved.
"""Procedural face renderer (numpy + OpenCV, anti-aliased, ~2.5 ms per 112 px face)."""
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from .face_model import (AU_NAMES, EXPRESSION_CLASSES, IdentityParams, expression_index,
                         face_geometry, sample_aus, sample_identity, sample_valence_arousal)

_SHIFT = 4                      # sub-pixel bits for cv2 drawing
_ONE = float(1 << _SHIFT)
_AA = cv2.LINE_AA


def _fix(pts: np.ndarray) -> np.ndarray:
    """Pixel coordinates (N, 2) -> int32 fixed point for cv2 with ``shift=_SHIFT``."""
    return np.round(pts * _ONE).astype(np.int32)


_SPLINE_CACHE: Dict[Tuple[int, bool, int], np.ndarray] = {}


def _spline_matrix(n: int, closed: bool, samples: int) -> np.ndarray:
    """The (M, n) matrix mapping n control points to the samples of their Catmull-Rom spline."""
    key = (n, closed, samples)
    mat = _SPLINE_CACHE.get(key)
    if mat is not None:
        return mat
    t = np.arange(samples, dtype=np.float64) / samples
    t2, t3 = t * t, t * t * t
    coef = np.stack([-0.5 * t3 + t2 - 0.5 * t, 1.5 * t3 - 2.5 * t2 + 1,
                     -1.5 * t3 + 2 * t2 + 0.5 * t, 0.5 * t3 - 0.5 * t2], 1)   # (S, 4)
    # padded control points as rows of a matrix over the n real points
    if closed:
        pad = np.eye(n)[np.r_[n - 1, 0:n, 0, 1]]
        segs = n
    else:
        eye = np.eye(n)
        pad = np.concatenate([2 * eye[:1] - eye[1:2], eye, 2 * eye[-1:] - eye[-2:-1]], 0)
        segs = n - 1
    rows = [coef @ pad[i:i + 4] for i in range(segs)]
    if not closed:
        rows.append(np.eye(n)[-1:])
    mat = _SPLINE_CACHE[key] = np.concatenate(rows, 0)
    return mat


def catmull_rom(pts: np.ndarray, closed: bool, samples: int = 4) -> np.ndarray:
    """A Catmull-Rom spline through ``pts`` (N, 2): the curve passes through every point.

    Args:
        pts (np.ndarray): (N, 2) control points, N >= 2.
        closed (bool): Whether the curve wraps around from the last point to the first.
        samples (int): Samples per segment.

    Returns:
        np.ndarray: (M, 2) points; the control points are among them.
    """
    return _spline_matrix(len(pts), closed, samples) @ pts


def _blend(a: np.ndarray, b, t: float) -> Tuple[float, ...]:
    return tuple(float(v) for v in (np.asarray(a) * (1 - t) + np.asarray(b) * t))


def _dark(c: np.ndarray, f: float) -> Tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(c) * f)


class SyntheticFaceGenerator:
    """Renders synthetic faces with exact 68-point landmarks; see :mod:`mmfer.datasets.synthetic`.

    Args:
        image_size (int): Side of the square output image in pixels. Default 112.
        seed (int): Seeds the identity factors (person ``k`` looks the same for the same
            ``seed``) and the draws of calls made with ``seed=None``. Default 0.
        noise_std (float): Std of the Gaussian pixel noise (0-255 scale). Default 3.
        pose_jitter (float): Multiplier of the per-sample pose jitter (roll, yaw, scale,
            shift); 0 renders every sample of a person in that person's mean pose. Default 1.
        lighting (float): Strength of the per-sample directional lighting gradient. Default 0.2.
        identity_cache_size (int, optional): Keep at most this many people's identity factors
            in memory (the oldest are dropped and recomputed when needed, ~0.2 ms each);
            None keeps all. Set it when drawing from very many identities. Default None.
    """

    def __init__(self, image_size: int = 112, seed: int = 0, noise_std: float = 3.0,
                 pose_jitter: float = 1.0, lighting: float = 0.2,
                 identity_cache_size: Optional[int] = None) -> None:
        if int(image_size) < 16:
            raise ValueError(f'image_size must be >= 16 pixels, got {image_size}')
        self.image_size = int(image_size)
        self.seed = int(seed)
        self.noise_std = float(noise_std)
        self.pose_jitter = float(pose_jitter)
        self.lighting = float(lighting)
        if identity_cache_size is not None and int(identity_cache_size) < 1:
            raise ValueError(f'identity_cache_size must be >= 1 or None, got '
                             f'{identity_cache_size}')
        self.identity_cache_size = identity_cache_size
        self._rng = np.random.default_rng([self.seed, 104729])
        self._ids: Dict[int, IdentityParams] = {}
        ramp = np.linspace(0.0, 1.0, self.image_size, dtype=np.float32)
        self._ramp_y = ramp[:, None, None]
        self._ramp_c = ramp - 0.5
        self._noise = np.random.default_rng([self.seed, 1299709]).normal(
            0.0, self.noise_std, (2 * self.image_size, 2 * self.image_size, 3)).astype(np.float32)

    # ------------------------------------------------------------------ public API
    def identity_params(self, identity: int) -> IdentityParams:
        """The identity factors of person ``identity`` (cached)."""
        identity = int(identity)
        if identity < 0:
            raise ValueError(f'identity must be >= 0, got {identity}')
        idp = self._ids.get(identity)
        if idp is None:
            if self.identity_cache_size is not None and \
                    len(self._ids) >= self.identity_cache_size:
                del self._ids[next(iter(self._ids))]     # the oldest entry
            idp = self._ids[identity] = sample_identity(identity, self.seed)
        return idp

    def render(self, identity: int, expression: Union[str, int] = 'neutral',
               intensity: float = 1.0, seed: Optional[int] = None,
               aus: Optional[np.ndarray] = None) -> Dict:
        """Render one still face.

        Args:
            identity (int): Person id (>= 0).
            expression (str | int): A name in :data:`EXPRESSION_CLASSES` or its index.
            intensity (float): Expression intensity in [0, 1] (scales the prototype AUs and
                valence/arousal).
            seed (int, optional): Seeds the per-sample factors (AU jitter, pose, gaze,
                lighting, noise). None draws them from the generator's own stream.
            aus (np.ndarray, optional): (A,) AU activations overriding the prototype's.

        Returns:
            dict: ``img`` (S, S, 3) uint8 BGR, ``keypoints`` (68, 2) float32 pixels,
            ``gt_label`` int, ``expression`` str, ``intensity`` float, ``aus`` (A,) float32
            (order :data:`AU_NAMES`), ``valence``/``arousal`` float, ``identity`` int,
            ``video`` -1, ``frame`` -1, ``face_bbox`` (4,) float32 x1, y1, x2, y2 of the head.
        """
        label = expression_index(expression)
        if not 0.0 <= float(intensity) <= 1.0:
            raise ValueError(f'intensity must be in [0, 1], got {intensity}')
        rng = self._rng if seed is None else np.random.default_rng([int(seed), 15485863])
        if aus is None:
            aus = sample_aus(label, intensity, rng)
        else:
            aus = np.asarray(aus, dtype=np.float32)
            if aus.shape != (len(AU_NAMES), ):
                raise ValueError(f'aus must have shape ({len(AU_NAMES)},) in the order '
                                 f'{AU_NAMES}, got {aus.shape}')
        valence, arousal = sample_valence_arousal(label, intensity, rng)
        idp = self.identity_params(identity)
        pose = self._sample_pose(idp, rng)
        img, kpts, bbox = self._draw(idp, aus, pose, rng)
        return dict(img=img, keypoints=kpts, gt_label=label,
                    expression=EXPRESSION_CLASSES[label], intensity=float(intensity),
                    aus=aus, valence=valence, arousal=arousal, identity=int(identity),
                    video=-1, frame=-1, face_bbox=bbox)

    def render_video(self, identity: int, num_frames: int = 50, seed: int = 0,
                     video: Optional[int] = None,
                     expressions: Optional[Sequence[Union[str, int]]] = None,
                     segment_frames: Tuple[int, int] = (12, 36),
                     intensity_range: Tuple[float, float] = (0.5, 1.0)) -> List[Dict]:
        """Render a clip of one person whose expression moves smoothly between key poses.

        Key expressions are drawn from ``expressions`` (all classes by default) every
        ``segment_frames`` frames; between two keys the AUs, valence/arousal and intensity
        are interpolated with a smoothstep, the head pose drifts smoothly, and each frame's
        label is the key expression with the larger weight.

        Args:
            identity (int): Person id.
            num_frames (int): Number of frames.
            seed (int): Seeds the trajectory and the per-frame noise.
            video (int, optional): Video id written into every frame; defaults to ``seed``.
            expressions (Sequence, optional): The classes the key poses are drawn from.
            segment_frames (tuple): (min, max) frames between two key poses.
            intensity_range (tuple): (min, max) intensity of the key poses.

        Returns:
            list[dict]: ``num_frames`` dicts like :meth:`render`'s with ``video`` and
            ``frame`` (0-based) set.
        """
        plan = self.video_plan(identity, num_frames, seed, expressions, segment_frames,
                               intensity_range)
        return [self.render_frame(identity, state, seed, i, video)
                for i, state in enumerate(plan)]

    def video_plan(self, identity: int, num_frames: int = 50, seed: int = 0,
                   expressions: Optional[Sequence[Union[str, int]]] = None,
                   segment_frames: Tuple[int, int] = (12, 36),
                   intensity_range: Tuple[float, float] = (0.5, 1.0)) -> List[Dict]:
        """The per-frame factors of :meth:`render_video` (same arguments), without drawing.

        Cheap (no pixels): lets a dataset render any single frame of a clip with
        :meth:`render_frame` or get its landmarks with :meth:`frame_keypoints`;
        ``[render_frame(identity, s, seed, i) for i, s in enumerate(plan)]`` is exactly
        :meth:`render_video`'s output.

        Returns:
            list[dict]: per frame ``aus`` (A,) float32, ``pose`` (dict), ``gt_label`` int,
            ``intensity``, ``valence``, ``arousal`` floats.
        """
        if num_frames < 1:
            raise ValueError(f'num_frames must be >= 1, got {num_frames}')
        lo, hi = segment_frames
        if not 1 <= lo <= hi:
            raise ValueError(f'segment_frames must be 1 <= min <= max, got {segment_frames}')
        classes = [expression_index(e) for e in (expressions or EXPRESSION_CLASSES)]
        rng = np.random.default_rng([int(seed), 32452843, int(identity)])
        # key poses: frame index, class, intensity, AU vector, VA
        keys = []
        f = 0
        while True:
            c = int(classes[rng.integers(len(classes))])
            inten = float(rng.uniform(*intensity_range))
            keys.append((f, c, inten, sample_aus(c, inten, rng),
                         np.array(sample_valence_arousal(c, inten, rng))))
            if f >= num_frames - 1:
                break
            f += int(rng.integers(lo, hi + 1))
        idp = self.identity_params(identity)
        base = self._sample_pose(idp, rng)
        # smooth pose drift: a few low-frequency sinusoids per pose component
        t = np.arange(num_frames, dtype=np.float64)
        freq = rng.uniform(0.01, 0.05, (4, 2))
        phase = rng.uniform(0, 2 * np.pi, (4, 2))
        amp = np.array([0.05, 0.1, 0.02, 0.012]) * self.pose_jitter
        drift = (np.sin(2 * np.pi * freq[:, None, :] * t[None, :, None] + phase[:, None, :])
                 .sum(-1) / 2 * amp[:, None])                        # (4, T)
        plan = []
        k = 0
        for i in range(num_frames):
            while k + 1 < len(keys) and keys[k + 1][0] <= i:
                k += 1
            f0, c0, i0, a0, va0 = keys[k]
            if k + 1 < len(keys):
                f1, c1, i1, a1, va1 = keys[k + 1]
                s = (i - f0) / max(f1 - f0, 1)
                # hold the key pose for the first half of the segment, then move
                s = float(np.clip((s - 0.4) / 0.6, 0, 1))
                s = s * s * (3 - 2 * s)
            else:
                c1, i1, a1, va1, s = c0, i0, a0, va0, 0.0
            aus = ((1 - s) * a0 + s * a1).astype(np.float32)
            va = (1 - s) * va0 + s * va1
            label = c0 if s < 0.5 else c1
            pose = dict(roll=base['roll'] + drift[0, i], yaw=base['yaw'] + drift[1, i],
                        scale=base['scale'] * (1 + drift[2, i]),
                        shift=base['shift'] + drift[3, i], gaze=base['gaze'],
                        light=base['light'])
            plan.append(dict(aus=aus, pose=pose, gt_label=label,
                             intensity=float((1 - s) * i0 + s * i1),
                             valence=float(va[0]), arousal=float(va[1])))
        return plan

    def render_frame(self, identity: int, state: Dict, seed: int, frame: int,
                     video: Optional[int] = None) -> Dict:
        """Draw frame ``frame`` of a clip from its :meth:`video_plan` entry ``state``.

        Args:
            identity (int): Person id (as given to :meth:`video_plan`).
            state (dict): ``video_plan(...)[frame]``.
            seed (int): The clip's seed (as given to :meth:`video_plan`).
            frame (int): 0-based frame number (seeds the frame's pixel noise).
            video (int, optional): Video id of the result; defaults to ``seed``.

        Returns:
            dict: like :meth:`render`'s, with ``video`` and ``frame`` set.
        """
        idp = self.identity_params(identity)
        frng = np.random.default_rng([int(seed), 49979687, int(identity), int(frame)])
        img, kpts, bbox = self._draw(idp, state['aus'], state['pose'], frng)
        label = state['gt_label']
        return dict(img=img, keypoints=kpts, gt_label=label,
                    expression=EXPRESSION_CLASSES[label], intensity=state['intensity'],
                    aus=state['aus'], valence=state['valence'], arousal=state['arousal'],
                    identity=int(identity), video=int(seed) if video is None else int(video),
                    frame=int(frame), face_bbox=bbox)

    def frame_keypoints(self, identity: int, state: Dict) -> np.ndarray:
        """(68, 2) float32 landmarks (pixels) of a :meth:`video_plan` entry, without drawing;
        equal to the ``keypoints`` :meth:`render_frame` returns."""
        pts3, _ = face_geometry(self.identity_params(identity), state['aus'])
        tf, _ = self._transform(state['pose'])
        return tf(pts3).astype(np.float32)

    def sample(self, num: int, seed: int = 0, num_identities: int = 50,
               identity_offset: int = 0,
               expressions: Optional[Sequence[Union[str, int]]] = None,
               intensity_range: Tuple[float, float] = (0.6, 1.0)) -> Iterator[Dict]:
        """Yield ``num`` stills with identity and expression drawn independently and uniformly.

        Args:
            num (int): Number of faces.
            seed (int): Seeds the draws; the i-th face is rendered with its own sub-seed,
                so the stream is reproducible.
            num_identities (int): Identities are ``identity_offset + [0, num_identities)``.
            identity_offset (int): First identity id (use disjoint ranges for unseen people).
            expressions (Sequence, optional): Classes to draw from (default: all 8).
            intensity_range (tuple): Uniform range of the intensity.
        """
        ids, labels, intens, seeds = self.draw_samples(num, seed, num_identities,
                                                       identity_offset, expressions,
                                                       intensity_range)
        for i in range(num):
            yield self.render(int(ids[i]), int(labels[i]), float(intens[i]), seed=int(seeds[i]))

    @staticmethod
    def draw_samples(num: int, seed: int = 0, num_identities: int = 50,
                     identity_offset: int = 0,
                     expressions: Optional[Sequence[Union[str, int]]] = None,
                     intensity_range: Tuple[float, float] = (0.6, 1.0)
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The draws behind :meth:`sample` (same arguments) without rendering.

        Returns:
            tuple: (N,) identities, (N,) class indices, (N,) intensities, (N,) render seeds;
            identity and class are independent uniform draws.
        """
        classes = [expression_index(e) for e in (expressions or EXPRESSION_CLASSES)]
        if num_identities < 1:
            raise ValueError(f'num_identities must be >= 1, got {num_identities}')
        lo, hi = intensity_range
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f'intensity_range must satisfy 0 <= min <= max <= 1, '
                             f'got {intensity_range}')
        rng = np.random.default_rng([int(seed), 86028121])
        ids = rng.integers(0, num_identities, num) + int(identity_offset)
        labels = np.asarray(classes)[rng.integers(0, len(classes), num)]
        intens = rng.uniform(lo, hi, num)
        seeds = rng.integers(0, 2**31 - 1, num)
        return ids, labels, intens, seeds

    def render_background(self, identity: int, seed: Optional[int] = None) -> np.ndarray:
        """The background of person ``identity``'s pictures without a face (S, S, 3) uint8."""
        rng = self._rng if seed is None else np.random.default_rng([int(seed), 15485863])
        img = self._background(self.identity_params(identity))
        return self._finish(img, self._sample_pose(self.identity_params(identity), rng), rng)

    # ------------------------------------------------------------------ internals
    def _sample_pose(self, idp: IdentityParams, rng: np.random.Generator) -> Dict:
        j = self.pose_jitter
        return dict(roll=idp.roll + j * rng.normal(0, 0.06),
                    yaw=float(np.clip(idp.yaw + j * rng.normal(0, 0.12), -0.45, 0.45)),
                    scale=idp.scale * (1 + j * rng.normal(0, 0.04)),
                    shift=idp.shift + j * rng.normal(0, 0.015, 2),
                    gaze=rng.normal(0, 0.18, 2),
                    light=rng.normal(0, 1, 2))

    def _transform(self, pose: Dict):
        S = self.image_size
        s = S * 0.31 * pose['scale']
        cr, sr = np.cos(pose['roll']), np.sin(pose['roll'])
        cy_, sy_ = np.cos(pose['yaw']), np.sin(pose['yaw'])
        centre = np.array([S / 2, S / 2 + 0.12 * s]) + pose['shift'] * S
        rot = np.array([[cr, -sr], [sr, cr]]) * s

        def tf(p: np.ndarray) -> np.ndarray:
            x = p[:, 0] * cy_ + p[:, 2] * sy_
            xy = np.stack([x, p[:, 1]], 1)
            return xy @ rot.T + centre

        return tf, s

    def _background(self, idp: IdentityParams) -> np.ndarray:
        S = self.image_size
        img = (idp.bg_top[None, None] * (1 - self._ramp_y)
               + idp.bg_bottom[None, None] * self._ramp_y).astype(np.uint8)
        img = np.ascontiguousarray(np.broadcast_to(img, (S, S, 3)))
        for x, y, r, b, g, rr in idp.bg_blobs:
            cv2.circle(img, (int(x * S * _ONE), int(y * S * _ONE)), int(r * S * _ONE),
                       (b, g, rr), -1, _AA, _SHIFT)
        return img

    def _finish(self, img: np.ndarray, pose: Dict, rng: np.random.Generator) -> np.ndarray:
        out = img.astype(np.float32)
        if self.lighting > 0:
            lx, ly = (self.lighting * pose['light']).astype(np.float32)
            gain = 1.0 + self._ramp_c[None, :] * lx + self._ramp_c[:, None] * ly    # (S, S)
            out *= gain[..., None]
        if self.noise_std > 0:
            # a random window of a fixed Gaussian field: i.i.d. per pixel, 10x cheaper
            S = self.image_size
            y, x = rng.integers(0, S, 2)
            out += self._noise[y:y + S, x:x + S]
        return np.clip(out, 0, 255).astype(np.uint8)

    def _draw(self, idp: IdentityParams, aus: np.ndarray, pose: Dict,
              rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        pts3, ex = face_geometry(idp, aus)
        tf, s = self._transform(pose)
        P = tf(pts3)                                     # (68, 2) pixels
        img = self._background(idp)
        skin = idp.skin
        th = max(1, int(round(s * 0.025)))               # thin line width

        def poly(p, colour):
            cv2.fillPoly(img, [_fix(p)], colour, _AA, _SHIFT)

        def line(p, colour, w, closed=False):
            cv2.polylines(img, [_fix(p)], closed, colour, w, _AA, _SHIFT)

        head_top = tf(ex['hair'])
        # long hair falls behind the head onto the shoulders
        if idp.hair_style == 'long':
            back = tf(np.concatenate([ex['hair'], np.array([[-1.2, 1.45, 0.0],
                                                            [1.2, 1.45, 0.0]])], 0))
            poly(back, _dark(idp.hair, 0.9))
        # neck and shoulders
        neck = tf(np.array([[-0.42, 0.6, 0], [0.42, 0.6, 0], [0.5, 2.2, 0], [-0.5, 2.2, 0]]))
        poly(neck, _dark(skin, 0.82))
        shoulder_c = tf(np.array([[0.0, 2.35, 0.0]]))[0]
        cv2.ellipse(img, tuple(int(v * _ONE) for v in shoulder_c),
                    (int(1.9 * s * _ONE), int(0.9 * s * _ONE)),
                    float(np.degrees(pose['roll'])), 0, 360, tuple(idp.cloth.tolist()), -1,
                    _AA, _SHIFT)
        # ears
        for side in (-1, 1):
            c = tf(np.array([[side * idp.face_width * 1.03, idp.eye_y + 0.12, 0.0]]))[0]
            cv2.ellipse(img, tuple(int(v * _ONE) for v in c),
                        (int(0.12 * s * _ONE), int(0.22 * s * _ONE)),
                        float(np.degrees(pose['roll'])), 0, 360, _dark(skin, 0.9), -1, _AA,
                        _SHIFT)
        # head: jaw landmarks + skull outline
        jaw = catmull_rom(P[0:17], closed=False, samples=3)
        skull = tf(ex['forehead'])
        face = np.concatenate([jaw, skull[1:-1]], 0)
        poly(face, tuple(skin.tolist()))
        line(jaw, _dark(skin, 0.8), th)
        # hair cap
        if idp.hair_style != 'bald':
            cap = np.concatenate([head_top, tf(ex['hairline'])], 0)
            poly(cap, tuple(idp.hair.tolist()))
        # cheeks raised (AU6)
        if ex['cheek'] > 0.15:
            ck = _blend(skin, (120, 110, 230), 0.25 * ex['cheek'])
            for side in (-1, 1):
                c = tf(np.array([[side * idp.eye_spacing * 1.05, idp.eye_y + 0.27, 0.5]]))[0]
                cv2.ellipse(img, tuple(int(v * _ONE) for v in c),
                            (int(0.15 * s * _ONE), int(0.09 * s * _ONE)),
                            float(np.degrees(pose['roll'])), 0, 360, ck, -1, _AA, _SHIFT)
        crease = lambda k: _dark(skin, 1.0 - 0.4 * k)  # noqa: E731
        # forehead lines (AU1/AU2)
        if ex['forehead_lines'] > 0.2:
            for k, dy in enumerate((0.17, 0.29)):
                y = idp.brow_y - dy - 0.08 * float(aus[0])
                arc = tf(np.array([[-0.4, y + 0.03, 0.6], [0.0, y, 0.7], [0.4, y + 0.03, 0.6]]))
                line(catmull_rom(arc, False, 4), crease(ex['forehead_lines'] * (1 - 0.3 * k)),
                     th)
        # glabella lines (AU4)
        if ex['glabella'] > 0.25:
            for side in (-1, 1):
                g = tf(np.array([[side * 0.06, idp.brow_y - 0.02, 0.7],
                                 [side * 0.05, idp.brow_y + 0.12, 0.7]]))
                line(g, crease(ex['glabella']), th)
        # nasolabial folds
        if ex['nasolabial'] > 0.2:
            for side, wing, corner in ((-1, 31, 48), (1, 35, 54)):
                a = P[wing] + (P[wing] - P[33]) * 0.45
                b = P[corner] + (P[corner] - P[51]) * 0.25 + (P[corner] - P[wing]) * 0.25
                m = (a + b) / 2 + (P[corner] - P[51]) * 0.12
                line(catmull_rom(np.stack([a, m, b]), False, 4), crease(ex['nasolabial']), th)
        # dimple beside the tightened right lip corner (AU14)
        if ex['dimple'] > 0.3:
            c, up = P[54], P[54] - P[57]
            d = c + (P[54] - P[48]) * 0.12
            line(catmull_rom(np.stack([d + up * 0.35, d + (P[54] - P[48]) * 0.03,
                                       d - up * 0.3]), False, 3), crease(ex['dimple']), th)
        # brows
        bw = max(1, int(round(idp.brow_thickness * s)))
        for idx in (slice(17, 22), slice(22, 27)):
            line(catmull_rom(P[idx], False, 3), _dark(idp.hair, 0.75), bw)
        # eyes
        sclera = (228.0, 236.0, 240.0)
        for side, idx in ((-1, slice(36, 42)), (1, slice(42, 48))):
            ring = catmull_rom(P[idx], closed=True, samples=3)
            pupil = tf(ex['pupils'][[0 if side < 0 else 1]])[0]
            pupil = pupil + pose['gaze'] * idp.eye_width * 0.18 * s
            self._draw_eye(img, ring, pupil, idp, s, sclera)
            upper = catmull_rom(P[idx][[0, 1, 2, 3]], False, 3)
            line(upper, (35.0, 30.0, 30.0), max(1, int(round(s * 0.03))))
            lower = catmull_rom(P[idx][[3, 4, 5, 0]], False, 3)
            line(lower, _dark(skin, 0.6), 1)
        # nose: bridge shading, wings, nostrils, wrinkles (AU9)
        side_bridge = P[27:31] + np.array([[-0.06, 0]]) * s
        line(side_bridge, _dark(skin, 0.88), th)
        line(catmull_rom(P[31:36], False, 3), _dark(skin, 0.6), th)
        for a_, b_ in ((31, 32), (35, 34)):
            c = P[a_] * 0.45 + P[b_] * 0.55 - (P[33] - P[30]) * 0.05
            cv2.ellipse(img, tuple(int(v * _ONE) for v in c),
                        (max(1, int(0.035 * s * _ONE)), max(1, int(0.02 * s * _ONE))),
                        float(np.degrees(pose['roll'])), 0, 360, _dark(skin, 0.35), -1, _AA,
                        _SHIFT)
        if ex['nose_wrinkle'] > 0.3:
            for k in range(2):
                y = P[27] * (0.55 - 0.2 * k) + P[30] * (0.45 + 0.2 * k)
                w_ = (P[39] - P[42]) * 0.2
                line(np.stack([y + w_, y - w_]), crease(ex['nose_wrinkle']), 1)
        # mouth
        outer = catmull_rom(P[48:60], closed=True, samples=3)
        poly(outer, tuple(idp.lips.tolist()))
        inner_pts = P[60:68]
        if ex['mouth_open'] > 0.012:
            inner = catmull_rom(inner_pts, closed=True, samples=3)
            self._draw_mouth_interior(img, inner, P, s, ex['teeth'])
        else:
            seam = catmull_rom(inner_pts[[0, 1, 2, 3, 4]], False, 3)
            line(seam, _dark(idp.lips, 0.45 - 0.1 * ex['press']), th)
        bbox = np.array([head_top[:, 0].min(), head_top[:, 1].min(),
                         max(P[:, 0].max(), head_top[:, 0].max()), P[:, 1].max()],
                        dtype=np.float32)
        img = self._finish(img, pose, rng)
        return img, P.astype(np.float32), bbox

    @staticmethod
    def _clipped(img: np.ndarray, outline: np.ndarray, paint, pad: int = 2) -> None:
        """Paint inside ``outline`` only (anti-aliased clip), on a small patch around it.

        Args:
            img (np.ndarray): (H, W, 3) uint8 canvas, modified in place.
            outline (np.ndarray): (N, 2) clip polygon in pixels.
            paint (callable): ``paint(patch, offset)`` draws onto a copy of the patch;
                ``offset`` (2,) is the patch's top-left corner in ``img``.
        """
        h, w = img.shape[:2]
        x0 = max(int(np.floor(outline[:, 0].min())) - pad, 0)
        y0 = max(int(np.floor(outline[:, 1].min())) - pad, 0)
        x1 = min(int(np.ceil(outline[:, 0].max())) + pad + 1, w)
        y1 = min(int(np.ceil(outline[:, 1].max())) + pad + 1, h)
        if x1 <= x0 or y1 <= y0:
            return
        off = np.array([x0, y0], dtype=np.float64)
        roi = img[y0:y1, x0:x1]
        patch = roi.copy()
        paint(patch, off)
        mask = np.zeros(patch.shape[:2], np.uint8)
        cv2.fillPoly(mask, [_fix(outline - off)], 255, _AA, _SHIFT)
        a = mask[..., None].astype(np.float32) / 255.0
        roi[:] = (roi * (1 - a) + patch * a + 0.5).astype(np.uint8)

    def _draw_eye(self, img, ring, pupil, idp, s, sclera) -> None:
        r_iris = idp.eye_width * 0.3 * s

        def paint(patch, off):
            patch[:] = sclera
            c = tuple(int(v * _ONE) for v in (pupil - off))
            cv2.circle(patch, c, max(1, int(r_iris * _ONE)), tuple(idp.iris.tolist()), -1,
                       _AA, _SHIFT)
            cv2.circle(patch, c, max(1, int(r_iris * 0.45 * _ONE)), (12.0, 12.0, 12.0), -1,
                       _AA, _SHIFT)

        self._clipped(img, ring, paint)

    def _draw_mouth_interior(self, img, inner, P, s, teeth: bool) -> None:

        def paint(patch, off):
            patch[:] = (45, 35, 95)
            if teeth:
                # upper teeth: a band hanging from the upper inner lip
                up = P[[60, 61, 62, 63, 64]] - off
                band = np.concatenate([up, (up + np.array([0, 0.075 * s]))[::-1]], 0)
                cv2.fillPoly(patch, [_fix(band)], (225, 232, 236), _AA, _SHIFT)

        self._clipped(img, inner, paint)
