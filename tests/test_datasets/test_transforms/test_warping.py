# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest

from mmfer.datasets.transforms import (fold_mask, local_warp, sample_warp_params,
                                       warp_inverse_map, warp_points)

# Eq. (1) as printed (100) and the strengths of §4.3's U(150, 300) (K0 = 100 / strength)
STRENGTHS = (100., 150., 300.)


def eq1_reference(img: np.ndarray, c, m, r, strength=100.) -> np.ndarray:
    """Eq. (1) evaluated per pixel in float64 with textbook bilinear sampling (replicate);
    ``K0 = 100 / strength`` multiplies ``|m - c|²`` in the denominator of q."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cx, cy = c
    vx, vy = m[0] - cx, m[1] - cy
    d2 = (xx - cx)**2 + (yy - cy)**2
    t = np.maximum(r * r - d2, 0)
    q = (t / (t + 100. / strength * (vx * vx + vy * vy)))**2
    ux = np.clip(xx - q * vx, 0, w - 1)
    uy = np.clip(yy - q * vy, 0, h - 1)
    x0 = np.floor(ux).astype(int)
    y0 = np.floor(uy).astype(int)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx, fy = ux - x0, uy - y0
    f = img.astype(np.float64)
    if f.ndim == 3:
        fx, fy = fx[..., None], fy[..., None]
    return ((1 - fy) * ((1 - fx) * f[y0, x0] + fx * f[y0, x1]) + fy *
            ((1 - fx) * f[y1, x0] + fx * f[y1, x1]))


def random_params(rng, size=224, step=(10, 42), radius=(50, 80), lo=50, hi=150):
    s = size / 224
    c = tuple(rng.uniform(lo * s, hi * s, 2))
    th = rng.uniform(0, 2 * np.pi)
    st = rng.uniform(*step) * s
    return c, (c[0] + st * np.cos(th), c[1] + st * np.sin(th)), rng.uniform(*radius) * s


@pytest.mark.parametrize('strength', STRENGTHS)
def test_local_warp_equals_eq1_bilinear_and_keeps_outside(strength):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)  # worst case: no smoothness
    for k in range(12):
        c, m, r = random_params(rng)
        if k == 0:  # circle crossing the image border: samples outside replicate the edge
            c, m, r = (10.3, 200.6), (30.1, 190.2), 70.
        out = local_warp(noise, c, m, r, strength)
        assert out.shape == noise.shape and out.dtype == np.uint8
        ref = eq1_reference(noise, c, m, r, strength)
        assert np.abs(out - ref).max() <= 1.0  # rounding only
        yy, xx = np.mgrid[0:224, 0:224]
        outside = (xx - c[0])**2 + (yy - c[1])**2 >= r * r
        assert np.array_equal(out[outside], noise[outside])
        assert not np.array_equal(out, noise)  # it did warp
    # float images go through the same path without rounding
    f = rng.uniform(0, 1, (96, 80)).astype(np.float32)
    c, m, r = (40.5, 47.2), (52.0, 40.0), 30.
    out = local_warp(f, c, m, r, strength)
    assert out.dtype == np.float32 and out.shape == f.shape
    assert np.abs(out - eq1_reference(f, c, m, r, strength)).max() < 1e-4


def test_strength_scales_the_denominator():
    """strength = 100 is Eq. (1) as printed; a larger strength (smaller K0) moves more."""
    c, m, r = (100.0, 100.0), (112.0, 100.0), 60.0
    pts = np.array([[100.0, 100.0], [130.0, 100.0]])
    disp = [(pts - warp_inverse_map(pts, c, m, r, st))[:, 0] for st in STRENGTHS]
    # hand-computed q(c) = (r² / (r² + K0 |m - c|²))², |m - c|² = 144
    for st, d in zip(STRENGTHS, disp):
        assert d[0] == pytest.approx(12 * (3600 / (3600 + 100 / st * 144))**2, abs=1e-12)
        t = 3600 - 900
        assert d[1] == pytest.approx(12 * (t / (t + 100 / st * 144))**2, abs=1e-12)
    assert disp[0][0] < disp[1][0] < disp[2][0] < 12
    with pytest.raises(ValueError, match='strength'):
        local_warp(np.zeros((8, 8), np.uint8), (4, 4), (5, 5), 3, strength=0)


def test_local_warp_channels_and_identity():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (64, 64, 6), dtype=np.uint8)
    c, m, r = (30.0, 33.0), (36.0, 30.0), 20.
    ref = eq1_reference(img, c, m, r)
    for n in (1, 2, 3, 4, 6):  # each cv2 channel path (2 and > 4 go channel by channel)
        out = local_warp(img[..., :n], c, m, r)
        assert out.shape == (64, 64, n)
        assert np.abs(out - ref[..., :n]).max() <= 1.0
    out = local_warp(img[..., 0], c, m, r)
    assert out.shape == (64, 64) and np.abs(out - ref[..., 0]).max() <= 1.0
    assert np.array_equal(local_warp(img, c, c, r), img)  # m == c
    assert np.array_equal(local_warp(img, (-100, -100), (-90, -90), 20), img)  # off image


def test_local_warp_errors():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match='radius'):
        local_warp(img, (4, 4), (5, 5), 0)
    with pytest.raises(ValueError, match='center'):
        local_warp(img, (4, 4, 1), (5, 5), 3)
    with pytest.raises(ValueError, match='shape'):
        local_warp(np.zeros((2, 2, 2, 2), np.uint8), (1, 1), (1, 2), 3)
    with pytest.raises(TypeError, match='dtype'):
        local_warp(img.astype(bool), (4, 4), (5, 5), 3)
    with pytest.raises(ValueError, match='border_mode'):
        local_warp(img, (4, 4), (5, 5), 3, border_mode='wrap')
    with pytest.raises(ValueError, match=r'\(N, 2\)'):
        warp_points(np.zeros((3, 3)), (4, 4), (5, 5), 3)


@pytest.mark.parametrize('strength', STRENGTHS)
def test_warp_points_solves_eq1_smallest_root(strength):
    rng = np.random.default_rng(2)
    k0 = 100. / strength
    for _ in range(10):
        c, m, r = random_params(rng)
        pts = rng.uniform(0, 224, (300, 2))
        x = warp_points(pts, c, m, r, strength)
        assert x.dtype == pts.dtype
        assert np.abs(warp_inverse_map(x, c, m, r, strength) - pts).max() < 1e-6
        outside = ((pts - c)**2).sum(1) >= r * r
        assert np.array_equal(x[outside], pts[outside])
        # smallest root: no solution p + λ v with a smaller λ (dense scan of g)
        v = np.subtract(m, c)
        lam = ((x - pts) @ v) / (v @ v)
        grid = np.linspace(0, 1, 4001)
        for p, l0 in zip(pts[~outside][:40], lam[~outside][:40]):
            t = np.maximum(r * r - ((p + grid[:, None] * v - c)**2).sum(1), 0)
            g = (t / (t + k0 * (v @ v)))**2 - grid
            first = grid[np.argmax(g < 0)]  # first sign change bounds the smallest root
            assert l0 <= first + 1e-9


def test_fold_exists_and_folded_point_has_three_copies():
    c, m, r = (112.0, 112.0), (127.0, 112.0), 70.0  # step 15 < r / 2: folds
    fold = fold_mask((224, 224), c, m, r)
    assert fold.sum() > 0
    ys, xs = np.nonzero(fold)
    assert (xs < c[0]).all()  # the band is at the trailing edge (behind c w.r.t. m - c)
    # A point whose g(λ) has three roots: each is a true solution, the smallest is returned.
    v = np.array([15.0, 0.0])
    lam = np.linspace(0, 1, 20001)
    found = False
    for px in np.arange(40.0, 60.0, 0.05):
        p = np.array([px, 112.0])
        t = np.maximum(r * r - ((p + lam[:, None] * v - c)**2).sum(1), 0)
        g = (t / (t + v @ v))**2 - lam
        changes = np.flatnonzero(np.diff(np.sign(g)) != 0)
        if len(changes) == 3:
            found = True
            x = warp_points(p[None], c, m, r)[0]
            assert abs((x[0] - p[0]) / 15.0 - lam[changes[0]]) < 1e-3
            break
    assert found, 'expected a folded point with three pre-images'


@pytest.mark.parametrize('mode', ['denominator', 'step'])
def test_warp_points_matches_where_a_marked_pixel_lands(mode):
    """Both readings of the strength: a landmark moved by warp_points sits where the image
    content it marked went (within 0.5 px: the centroid of a bilinearly warped blob)."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:224, 0:224].astype(np.float64)
    checked = 0
    for _ in range(40):
        c, m, r, st = sample_warp_params(rng, (224, 224), strength_mode=mode)
        p = np.array(c) + rng.uniform(-0.8, 0.8, 2) * r / np.sqrt(2)
        x = warp_points(p[None], c, m, r, st)[0]
        assert np.abs(warp_inverse_map(x[None], c, m, r, st)[0] - p).max() < 0.05
        # skip points in or next to the fold, where the mark has several copies
        fold = fold_mask((224, 224), c, m, r, st)
        xi, yi = int(round(x[0])), int(round(x[1]))
        if not (6 <= xi < 218 and 6 <= yi < 218) or fold[yi - 6:yi + 7, xi - 6:xi + 7].any():
            continue
        blob = np.exp(-((xx - p[0])**2 + (yy - p[1])**2) / (2 * 0.8**2))
        img = (blob * 1000).astype(np.float32)
        out = local_warp(img, c, m, r, st).astype(np.float64)
        win = out[yi - 6:yi + 7, xi - 6:xi + 7]
        wy, wx = np.mgrid[yi - 6:yi + 7, xi - 6:xi + 7]
        centroid = np.array([(win * wx).sum(), (win * wy).sum()]) / win.sum()
        assert np.linalg.norm(centroid - x) <= 0.5
        checked += 1
    assert checked >= 15


def test_sampled_warps_keep_the_stated_step_range():
    """§4.3 at 224 px: |m - c|² ~ U(100, 200), r ~ U(50, 80), c ~ U(50, 150) per axis and a
    strength from U(150, 300). The default reading keeps |m - c|² in [100, 200] and moves the
    content by at most 15 px (at the centre, q(c) |m - c|); the 'step' reading scales the step
    by strength / 100 (|m - c|² in [225, 1800])."""
    rng = np.random.default_rng(0)
    step_sq, disp = [], []
    for _ in range(2000):
        c, m, r, st = sample_warp_params(rng, (224, 224))
        assert 50 <= c[0] <= 150 and 50 <= c[1] <= 150 and 50 <= r <= 80
        assert 150 <= st <= 300
        s = float(np.subtract(m, c) @ np.subtract(m, c))
        step_sq.append(s)
        # the largest displacement of Eq. (1) is at the centre: |u(c) - c| = q(c) |m - c|
        disp.append(np.linalg.norm(c - warp_inverse_map(np.array([c]), c, m, r, st)[0]))
    step_sq, disp = np.array(step_sq), np.array(disp)
    assert 100 - 1e-9 <= step_sq.min() and step_sq.max() <= 200 + 1e-9
    assert step_sq.min() < 105 and step_sq.max() > 195  # the whole range is drawn
    assert disp.max() <= 15 and disp.min() >= 9
    # the other reading, kept as an option
    rng = np.random.default_rng(0)
    old = []
    for _ in range(2000):
        c, m, r, st = sample_warp_params(rng, (224, 224), strength_mode='step')
        assert st == 100.
        old.append(float(np.subtract(m, c) @ np.subtract(m, c)))
    old = np.array(old)
    assert 225 - 1e-9 <= old.min() and old.max() <= 1800 + 1e-9 and old.max() > 1000
    with pytest.raises(ValueError, match='strength_mode'):
        sample_warp_params(rng, (224, 224), strength_mode='percent')
