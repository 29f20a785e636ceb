# Copyright (c) mmfer contributors. All rights reserved.
"""Local image warping of ContraWarping (§3.2, Eq. (1)) and the matching point transform.

Coordinates are ``(x, y)`` in pixels, x = column, y = row, pixel centres at integers.

For a circle of centre ``c`` and radius ``r`` and a target ``m`` (the step ``m - c``), the
warped image takes, at every pixel ``x`` with ``|x - c| < r``, the input at (Eq. (1))::

    u(x) = x - q(x) (m - c),   q(x) = ((r² - |x-c|²) / (r² - |x-c|² + K0 |m-c|²))²  in [0, 1)

sampled bilinearly; every pixel with ``|x - c| >= r`` keeps its input value bit for bit.
``K0 = 100 / strength``: ``strength = 100`` (the default of every function here) is Eq. (1) as
printed. §4.3 of the paper draws a "strength from U(150, 300)" that Eq. (1) does not contain;
:func:`sample_warp_params` offers the two readings of it (see there): ``'denominator'`` (the
default; strength in ``K0`` as in the widely used local-translation warp "with strength", which
keeps ``|m - c|² ~ U(100, 200)`` as stated) and ``'step'`` (strength scales the step length,
``K0 = 1``).

**The fold.** Eq. (1) is an *inverse* map and it is not one-to-one: with the paper's parameters
its Jacobian is negative in a thin band at the trailing edge of the circle (opposite to
``m - c``) whenever the step is small compared with ``r`` (below about ``r / 2`` for
``K0 = 1``); the content of that band appears up to three times (the middle copy mirrored) in
the warped image. This implementation is faithful to Eq. (1) and keeps the fold;
:func:`warp_points` documents which of the several positions of a folded point it returns.
"""
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np

PointLike = Union[Sequence[float], np.ndarray]

_BORDER_MODES = {
    'replicate': cv2.BORDER_REPLICATE,
    'reflect': cv2.BORDER_REFLECT_101,
    'constant': cv2.BORDER_CONSTANT,
}
_DTYPES = (np.uint8, np.uint16, np.int16, np.float32, np.float64)


def _as_point(p: PointLike, name: str) -> Tuple[float, float]:
    arr = np.asarray(p, dtype=np.float64).reshape(-1)
    if arr.shape != (2, ) or not np.isfinite(arr).all():
        raise ValueError(f'{name} must be a finite (x, y) pair, got {p!r}')
    return float(arr[0]), float(arr[1])


def _check_radius(radius: float) -> float:
    r = float(radius)
    if not np.isfinite(r) or r <= 0:
        raise ValueError(f'radius must be a positive finite number, got {radius!r}')
    return r


def _k0(strength: float) -> float:
    """``K0 = 100 / strength`` of the strength-weighted Eq. (1)."""
    st = float(strength)
    if not np.isfinite(st) or st <= 0:
        raise ValueError(f'strength must be a positive finite number, got {strength!r}')
    return 100.0 / st


def warp_inverse_map(points: np.ndarray, center: PointLike, target: PointLike,
                     radius: float, strength: float = 100.) -> np.ndarray:
    """Eq. (1) itself: the input position ``u(x)`` each output position samples.

    Args:
        points (np.ndarray): (N, 2) output positions ``x``.
        center (PointLike): ``c`` = (x, y).
        target (PointLike): ``m`` = (x, y).
        radius (float): ``r`` in pixels.
        strength (float): ``K0 = 100 / strength`` weights ``|m - c|²`` in the denominator of
            ``q``. Defaults to 100 (Eq. (1) as printed).

    Returns:
        np.ndarray: (N, 2) float64 input positions ``u(x)``; ``u(x) = x`` outside the circle.
    """
    cx, cy = _as_point(center, 'center')
    mx, my = _as_point(target, 'target')
    r = _check_radius(radius)
    k0 = _k0(strength)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    v = np.array([mx - cx, my - cy])
    q = _q(pts, np.array([cx, cy]), k0 * float(v @ v), r)
    return pts - q[:, None] * v


def _q(pts: np.ndarray, c: np.ndarray, s: float, r: float) -> np.ndarray:
    """q(x) of Eq. (1) for (..., 2) points (float64), 0 outside the circle; ``s = K0 |m-c|²``."""
    d2 = ((pts - c)**2).sum(-1)
    t = np.maximum(r * r - d2, 0.0)
    if s == 0:
        return np.zeros_like(t)
    return (t / (t + s))**2


def _first_bracket(p: np.ndarray, c: np.ndarray, v: np.ndarray, s: float, r: float,
                   lo: np.ndarray, hi: np.ndarray, n: int) -> Tuple[np.ndarray, np.ndarray]:
    """Split each [lo, hi] in ``n`` parts; keep the first where g = q(p + λv) - λ goes < 0.

    ``s`` is ``K0 |v|²``. Requires g(lo) >= 0 > g(hi) (kept as an invariant).
    """
    frac = np.arange(n + 1) / n
    lam = lo[:, None] + (hi - lo)[:, None] * frac  # (M, n + 1)
    dx = (p[:, 0] - c[0])[:, None] + lam * v[0]
    dy = (p[:, 1] - c[1])[:, None] + lam * v[1]
    t = r * r - dx * dx - dy * dy
    np.maximum(t, 0.0, out=t)
    g = t / (t + s)
    g *= g
    g -= lam
    g[:, 0] = 0.0  # the invariant, exact at the bracket ends
    g[:, -1] = -1.0
    i = ((g[:, :-1] >= 0) & (g[:, 1:] < 0)).argmax(1)
    rows = np.arange(len(p))
    return lam[rows, i], lam[rows, i + 1]


def local_warp(img: np.ndarray,
               center: PointLike,
               target: PointLike,
               radius: float,
               strength: float = 100.,
               border_mode: str = 'replicate') -> np.ndarray:
    """Warp ``img`` locally: Eq. (1) of ContraWarping with bilinear sampling.

    Only the circle's bounding box is computed: the remap of that box is written straight into
    a copy of the input, so the cost is O(r²) (≈ 0.1 ms for r = 80 at 224×224×3 on one core,
    see ``benchmarks/bench_warp.py``). The warp folds near the trailing edge of the circle for
    small steps (see the module docstring); that is Eq. (1)'s behaviour and is kept.

    Args:
        img (np.ndarray): (H, W) or (H, W, C) image, dtype uint8, uint16, int16, float32 or
            float64.
        center (PointLike): ``c`` = (x, y) in pixels.
        target (PointLike): ``m`` = (x, y) in pixels; ``m == c`` is the identity.
        radius (float): ``r`` > 0 in pixels; only pixels with ``|x - c| < r`` change.
        strength (float): ``K0 = 100 / strength`` in the denominator of ``q`` (see the module
            docstring). Defaults to 100 (Eq. (1) as printed).
        border_mode (str): How samples ``u(x)`` outside the image are read:
            ``'replicate'`` (default), ``'reflect'`` or ``'constant'`` (zeros).

    Returns:
        np.ndarray: The warped image, same shape and dtype as ``img`` (a new array).
    """
    if not isinstance(img, np.ndarray) or img.ndim not in (2, 3) or img.size == 0:
        raise ValueError('img must be a non-empty (H, W) or (H, W, C) numpy array, got '
                         f'{type(img).__name__} with shape {getattr(img, "shape", None)}')
    if img.dtype.type not in _DTYPES:
        raise TypeError(f'img dtype {img.dtype} is not supported; use one of '
                        f'{[np.dtype(d).name for d in _DTYPES]}')
    if border_mode not in _BORDER_MODES:
        raise ValueError(f'border_mode must be one of {sorted(_BORDER_MODES)}, '
                         f'got {border_mode!r}')
    cx, cy = _as_point(center, 'center')
    mx, my = _as_point(target, 'target')
    r = _check_radius(radius)
    k0 = _k0(strength)
    img = np.ascontiguousarray(img)
    out = img.copy()
    vx, vy = mx - cx, my - cy
    s = vx * vx + vy * vy
    if s == 0.0:
        return out
    h, w = img.shape[:2]
    # Integer pixels strictly inside the circle: cx - r < x < cx + r.
    x0 = max(int(np.floor(cx - r)) + 1, 0)
    x1 = min(int(np.ceil(cx + r)) - 1, w - 1)
    y0 = max(int(np.floor(cy - r)) + 1, 0)
    y1 = min(int(np.ceil(cy + r)) - 1, h - 1)
    if x0 > x1 or y0 > y1:
        return out
    # Every sample u(x) = x - q (m - c), q < 1, lies within |m - c| of x: remap from the box
    # grown by that much (+2 for the bilinear neighbours), clipped to the image (where the
    # clipped box's edge is the image's edge, so the border mode acts as on the whole image).
    pad = int(np.ceil(np.sqrt(s))) + 2
    sx0, sy0 = max(x0 - pad, 0), max(y0 - pad, 0)
    sx1, sy1 = min(x1 + pad, w - 1), min(y1 + pad, h - 1)
    src = img[sy0:sy1 + 1, sx0:sx1 + 1]
    clipped = (sx0, sy0, sx1, sy1) != (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    xs = np.arange(x0, x1 + 1, dtype=np.float32)
    ys = np.arange(y0, y1 + 1, dtype=np.float32)
    dx2 = (xs - np.float32(cx))**2
    rdy2 = np.float32(r * r) - (ys - np.float32(cy))**2
    t = rdy2[:, None] - dx2[None, :]  # r² - |x - c|²
    np.maximum(t, 0, out=t)  # t = 0 (q = 0, identity map) outside the circle
    q = t + np.float32(k0 * s)
    np.divide(t, q, out=q)
    q *= q
    map_x = (xs - np.float32(sx0))[None, :] - q * np.float32(vx)
    map_y = (ys - np.float32(sy0))[:, None] - q * np.float32(vy)
    roi = out[y0:y1 + 1, x0:x1 + 1]
    # Unless the box was clipped by the image, no sample comes near the edge of ``src`` and
    # the (cheaper) constant border gives the same result as any other.
    border = _BORDER_MODES[border_mode] if clipped else cv2.BORDER_CONSTANT
    if img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8:
        # cv2.remap's vectorised path is much faster for 4 than for 3 channels.
        src4 = cv2.cvtColor(src, cv2.COLOR_BGR2BGRA)
        warped = cv2.remap(src4, map_x, map_y, cv2.INTER_LINEAR, borderMode=border)
        res = cv2.cvtColor(warped, cv2.COLOR_BGRA2BGR, dst=roi)
    elif img.ndim == 3 and img.shape[2] not in (1, 3, 4):
        # cv2.remap takes at most 4 channels, and its 2-channel path is not exact bilinear
        # (measured: up to 4.7 grey levels off), so go channel by channel.
        for k in range(img.shape[2]):
            roi[..., k] = cv2.remap(np.ascontiguousarray(src[..., k]), map_x, map_y,
                                    cv2.INTER_LINEAR, borderMode=border)
        return out
    else:
        res = cv2.remap(src, map_x, map_y, cv2.INTER_LINEAR, dst=roi, borderMode=border)
    if res is not roi:  # cv2 allocated a new array instead of writing in place
        roi[...] = res.reshape(roi.shape)
    return out


def warp_points(points: np.ndarray,
                center: PointLike,
                target: PointLike,
                radius: float,
                strength: float = 100.,
                num_grid: int = 64,
                num_iters: int = 6,
                num_sub: int = 16) -> np.ndarray:
    """Where each input point appears in the image warped by :func:`local_warp`.

    Eq. (1) gives, for an output position ``x``, the input position ``u(x)``; a point ``p`` of
    the input therefore appears at the solutions ``x`` of ``u(x) = p``. Since
    ``u(x) = x - q(x) (m - c)`` with ``q(x) ∈ [0, 1)``, every solution lies on the ray
    ``x = p + λ (m - c)`` with ``λ = q(x)``, so it is enough to solve the scalar equation
    ``g(λ) = q(p + λ (m - c)) - λ = 0`` on ``[0, 1]`` (``g(0) >= 0 > g(1)``, so a root exists).

    **Which root.** Because of the fold (see the module docstring) ``g`` may have up to three
    roots, i.e. the point appears up to three times. This function returns the **smallest**
    ``λ``: the copy closest to the original position along the step direction (it is the only
    copy for points away from the fold band). ``g`` is evaluated on a uniform grid of
    ``num_grid + 1`` values of ``λ`` and the first bracket where it changes sign (from >= 0 to
    < 0) is kept; that bracket is then refined ``num_iters`` times by splitting it into
    ``num_sub`` parts and keeping the first sign change again (a bisection with ``num_sub``
    branches: 64 · 16⁶ ≈ 1e9 parts, i.e. |Δλ| < 1e-9, < 1e-7 px for the paper's steps). A fold
    so thin that two roots fall in one grid cell (< 1/num_grid in ``λ``) can be stepped over;
    the result is still an exact solution of ``u(x) = p``, just not the smallest one. Points
    outside the circle (and points with ``m == c``) are returned unchanged (``λ = 0``).

    Args:
        points (np.ndarray): (N, 2) points (x, y) in the input image.
        center (PointLike): ``c`` = (x, y).
        target (PointLike): ``m`` = (x, y).
        radius (float): ``r`` in pixels.
        strength (float): As in :func:`local_warp`. Defaults to 100 (Eq. (1) as printed).
        num_grid (int): Grid size of the root bracketing. Defaults to 64.
        num_iters (int): Refinement rounds. Defaults to 6.
        num_sub (int): Parts per refinement round. Defaults to 16.

    Returns:
        np.ndarray: (N, 2) positions in the warped image, dtype of ``points`` if floating,
        else float32.
    """
    arr = np.asarray(points)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f'points must have shape (N, 2), got {arr.shape}')
    out_dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float32
    pts = arr.astype(np.float64)
    cx, cy = _as_point(center, 'center')
    mx, my = _as_point(target, 'target')
    r = _check_radius(radius)
    k0 = _k0(strength)
    c = np.array([cx, cy])
    v = np.array([mx - cx, my - cy])
    s = k0 * float(v @ v)
    if s == 0.0 or len(pts) == 0:
        return pts.astype(out_dtype)
    finite = np.isfinite(pts).all(1)
    inside = finite & (((pts - c)**2).sum(1) < r * r)
    res = pts.copy()
    if not inside.any():
        return res.astype(out_dtype)
    p = pts[inside]  # (M, 2)
    lo, hi = _first_bracket(p, c, v, s, r, np.zeros(len(p)), np.ones(len(p)), num_grid)
    for _ in range(num_iters):  # each round narrows the bracket num_sub times
        lo, hi = _first_bracket(p, c, v, s, r, lo, hi, num_sub)
    root = 0.5 * (lo + hi)
    res[inside] = p + root[:, None] * v
    return res.astype(out_dtype)


def fold_mask(shape: Tuple[int, int], center: PointLike, target: PointLike,
              radius: float, strength: float = 100.) -> np.ndarray:
    """Pixels where Eq. (1) folds (negative Jacobian determinant of ``u``).

    Args:
        shape (tuple[int, int]): (H, W) of the image.
        center, target, radius, strength: as in :func:`local_warp`.

    Returns:
        np.ndarray: (H, W) bool, True where ``det(∂u/∂x) < 0``.
    """
    cx, cy = _as_point(center, 'center')
    mx, my = _as_point(target, 'target')
    r = _check_radius(radius)
    k0 = _k0(strength)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    v = np.array([mx - cx, my - cy])
    s = k0 * float(v @ v)
    dx, dy = xx - cx, yy - cy
    t = r * r - dx * dx - dy * dy
    inside = t > 0
    t = np.maximum(t, 0)
    # q = (t / (t + s))² (s = K0 |v|²), dq/dt = 2 t s / (t + s)³, dt/dx = -2 (x - c)
    dq_dt = np.where(inside, 2 * t * s / (t + s)**3, 0.0) if s > 0 else np.zeros_like(t)
    gx, gy = -2 * dx * dq_dt, -2 * dy * dq_dt
    # u = x - q v  =>  J = I - v ∇qᵀ, det J = 1 - v·∇q
    det = 1.0 - (v[0] * gx + v[1] * gy)
    return inside & (det < 0)


STRENGTH_MODES = ('denominator', 'step')


def sample_warp_params(rng: np.random.Generator, img_shape: Tuple[int, int],
                       center: Optional[Tuple[float, float]] = None,
                       center_range: Tuple[float, float] = (50., 150.),
                       step_sq_range: Tuple[float, float] = (100., 200.),
                       radius_range: Tuple[float, float] = (50., 80.),
                       strength_range: Tuple[float, float] = (150., 300.),
                       ref_size: float = 224.,
                       strength_mode: str = 'denominator'
                       ) -> Tuple[Tuple[float, float], Tuple[float, float], float, float]:
    """Draw one warp ``(c, m, r, strength)`` with the paper's distributions (§4.3).

    Ranges are given for a ``ref_size`` × ``ref_size`` image (the paper's 224) and scaled
    linearly with the image size: the centre per axis with that axis' size, step and radius
    with the mean of ``H / ref_size`` and ``W / ref_size``. ``c ~ U(center_range)`` per axis
    (unless ``center`` is given), ``|m - c|² ~ U(step_sq_range)`` in a uniformly random
    direction, ``r ~ U(radius_range)`` and a strength ``U(strength_range)``, which the paper
    names but Eq. (1) does not contain. ``strength_mode`` says how it acts:

    - ``'denominator'`` (default): ``K0 = 100 / strength`` multiplies ``|m - c|²`` in the
      denominator of Eq. (1)'s ``q`` (the widely used local-translation warp "with strength"),
      so ``|m - c|²`` stays in ``step_sq_range`` as §4.3 states; the returned strength is the
      drawn one;
    - ``'step'``: the step length is multiplied by ``strength / 100`` and Eq. (1) is used as
      printed (the returned strength is 100), so ``|m - c|²`` is ``U(step_sq_range)`` times
      ``(U(strength_range) / 100)²`` (225-1800 px² at 224 px), outside the stated range.

    Args:
        rng (np.random.Generator | module): Source of randomness (``np.random`` works too).
        img_shape (tuple[int, int]): (H, W).
        center (tuple, optional): Fixed centre (x, y) in pixels; sampled when None.
        center_range, step_sq_range, radius_range, strength_range (tuple[float, float]): The
            ranges at ``ref_size``.
        ref_size (float): Image size the ranges refer to. Defaults to 224.
        strength_mode (str): ``'denominator'`` or ``'step'``. Defaults to ``'denominator'``.

    Returns:
        tuple: ``(c, m, r, strength)``: ``c``, ``m`` (x, y) float tuples, ``r`` and the
        ``strength`` argument of :func:`local_warp` / :func:`warp_points` (floats), so that
        ``local_warp(img, *params)`` applies the drawn warp.
    """
    if strength_mode not in STRENGTH_MODES:
        raise ValueError(f'strength_mode must be one of {STRENGTH_MODES}, got {strength_mode!r}')
    h, w = img_shape[:2]
    sx, sy = w / ref_size, h / ref_size
    scale = 0.5 * (sx + sy)
    if center is None:
        center = (float(rng.uniform(*center_range)) * sx, float(rng.uniform(*center_range)) * sy)
    step = float(np.sqrt(rng.uniform(*step_sq_range)))
    strength = float(rng.uniform(*strength_range))
    if strength_mode == 'step':
        step *= strength / 100.
        strength = 100.
    step *= scale
    theta = float(rng.uniform(0.0, 2.0 * np.pi))
    radius = float(rng.uniform(*radius_range)) * scale
    target = (center[0] + step * np.cos(theta), center[1] + step * np.sin(theta))
    return ((float(center[0]), float(center[1])), (float(target[0]), float(target[1])), radius,
            strength)
