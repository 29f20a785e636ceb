# Copyright (c) mmfer contributors. All rights reserved.
"""The parametric face: identity factors, AU-like expression factors and the 68-point geometry.

Coordinates here are *canonical*: the face centre (between the eyes and the mouth) is the
origin, x grows to the image right, y downwards, and the face half-width is about 1. Every
landmark also carries a depth ``z`` (towards the camera) used for the yaw rotation. The
renderer (:mod:`.generator`) maps canonical points to pixels with one similarity transform,
so the 68 landmarks it returns are exactly the points its polygons and polylines are drawn
through.

Landmark order is iBUG 300-W (image-left first): jaw 0-16 (0 at the image-left temple, 8 the
chin), brows 17-21 (image-left, outer to inner) and 22-26 (image-right, inner to outer),
nose bridge 27-30 (top to tip), nostril base 31-35 (left to right), image-left eye 36-41
(outer corner, two upper-lid points, inner corner, two lower-lid points), image-right eye
42-47 (inner corner, upper lid, outer corner, lower lid), outer lips 48-59 (48 left corner,
51 top centre, 54 right corner, 57 bottom centre) and inner lips 60-67 (60 left corner,
62 top, 64 right corner, 66 bottom).
"""
from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np

EXPRESSION_CLASSES = ('neutral', 'happiness', 'sadness', 'surprise', 'fear', 'disgust',
                      'anger', 'contempt')

# FACS action units the face model animates (the 12 Aff-Wild2 AUs are a subset).
AU_NAMES = ('AU1', 'AU2', 'AU4', 'AU5', 'AU6', 'AU7', 'AU9', 'AU10', 'AU12', 'AU14', 'AU15',
            'AU17', 'AU20', 'AU23', 'AU24', 'AU25', 'AU26')
AU_INDEX = {name: i for i, name in enumerate(AU_NAMES)}

# EMFACS-style prototypes: AU activation at full intensity (AU14 is unilateral, image-right).
EXPRESSION_PROTOTYPES: Dict[str, Dict[str, float]] = {
    'neutral': {},
    'happiness': {'AU6': 0.8, 'AU12': 1.0, 'AU25': 0.5},
    'sadness': {'AU1': 0.9, 'AU4': 0.6, 'AU15': 1.0, 'AU17': 0.6},
    'surprise': {'AU1': 1.0, 'AU2': 1.0, 'AU5': 0.9, 'AU25': 1.0, 'AU26': 0.9},
    'fear': {'AU1': 0.9, 'AU2': 0.6, 'AU4': 0.7, 'AU5': 1.0, 'AU20': 1.0, 'AU25': 0.8,
             'AU26': 0.35},
    'disgust': {'AU4': 0.5, 'AU9': 1.0, 'AU10': 0.9, 'AU15': 0.5, 'AU17': 0.4},
    'anger': {'AU4': 1.0, 'AU5': 0.4, 'AU7': 0.9, 'AU23': 0.9, 'AU24': 0.8},
    'contempt': {'AU12': 0.15, 'AU14': 1.0},
}

# Circumplex (valence, arousal) of each prototype at full intensity.
VALENCE_AROUSAL: Dict[str, Tuple[float, float]] = {
    'neutral': (0.0, 0.0),
    'happiness': (0.75, 0.45),
    'sadness': (-0.65, -0.35),
    'surprise': (0.15, 0.75),
    'fear': (-0.6, 0.65),
    'disgust': (-0.65, 0.3),
    'anger': (-0.55, 0.75),
    'contempt': (-0.45, 0.15),
}

PROTOTYPE_MATRIX = np.zeros((len(EXPRESSION_CLASSES), len(AU_NAMES)), dtype=np.float32)
for _c, _name in enumerate(EXPRESSION_CLASSES):
    for _au, _v in EXPRESSION_PROTOTYPES[_name].items():
        PROTOTYPE_MATRIX[_c, AU_INDEX[_au]] = _v
VA_MATRIX = np.array([VALENCE_AROUSAL[n] for n in EXPRESSION_CLASSES], dtype=np.float32)

# (B, G, R) palettes the identity colours are interpolated from.
SKIN_TONES = np.array([[196, 214, 244], [160, 190, 232], [122, 160, 208], [92, 128, 178],
                       [62, 92, 140], [44, 64, 104]], dtype=np.float32)
HAIR_COLOURS = np.array([[25, 25, 30], [30, 45, 80], [45, 75, 120], [110, 170, 215],
                         [40, 70, 160], [150, 150, 155]], dtype=np.float32)
IRIS_COLOURS = np.array([[30, 55, 95], [20, 35, 60], [150, 115, 60], [90, 130, 90],
                         [120, 120, 110]], dtype=np.float32)
HAIR_STYLES = ('short', 'long', 'fringe', 'bald')


def expression_index(expression) -> int:
    """Return the class index of an expression given by name or index.

    Raises:
        ValueError: unknown name or index out of range (the message lists the classes).
    """
    if isinstance(expression, (int, np.integer)) and not isinstance(expression, bool):
        if 0 <= int(expression) < len(EXPRESSION_CLASSES):
            return int(expression)
    elif isinstance(expression, str) and expression in EXPRESSION_CLASSES:
        return EXPRESSION_CLASSES.index(expression)
    raise ValueError(f'unknown expression {expression!r}; expected one of '
                     f'{EXPRESSION_CLASSES} or an index in [0, {len(EXPRESSION_CLASSES)})')


@dataclass
class IdentityParams:
    """Everything that makes one synthetic person look like themselves.

    Lengths are canonical units (face half-width ~ 1); colours are BGR float (0-255).
    """
    identity: int
    face_width: float
    face_height: float
    jaw_power: float          # < 1 square jaw, > 1 pointed chin
    chin_width: float
    eye_spacing: float        # half distance between the eye centres
    eye_width: float
    eye_height: float
    eye_y: float
    brow_y: float
    brow_arch: float
    brow_thickness: float     # fraction of the face half-width
    nose_length: float
    nose_width: float
    mouth_y: float
    mouth_width: float        # half-width
    upper_lip: float
    lower_lip: float
    skin: np.ndarray
    hair: np.ndarray
    iris: np.ndarray
    lips: np.ndarray
    cloth: np.ndarray
    bg_top: np.ndarray
    bg_bottom: np.ndarray
    bg_blobs: np.ndarray      # (B, 6): x, y (0-1), radius (0-1), B, G, R
    hair_style: str
    wrinkle: float            # age-like crease strength
    roll: float               # mean head roll (radians)
    yaw: float                # mean head yaw (radians)
    scale: float
    shift: np.ndarray         # mean (dx, dy) as a fraction of the image size


def _mix(palette: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    t = rng.uniform(0, len(palette) - 1)
    i = min(int(t), len(palette) - 2)
    f = t - i
    return palette[i] * (1 - f) + palette[i + 1] * f


def sample_identity(identity: int, seed: int) -> IdentityParams:
    """Draw the identity factors of person ``identity`` (a pure function of both ints)."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 7919, int(identity)])
    u = rng.uniform
    skin = _mix(SKIN_TONES, rng) * u(0.95, 1.05, 3)
    hair = _mix(HAIR_COLOURS, rng) * u(0.85, 1.15, 3)
    lips = skin * 0.62 + np.array([70., 70., 165.]) * 0.38
    bg_top = u(20, 235, 3)
    bg_bottom = np.clip(bg_top * u(0.4, 1.2, 3) + u(-40, 40, 3), 0, 255)
    n_blobs = int(rng.integers(0, 4))
    blobs = np.concatenate([u(0, 1, (n_blobs, 2)), u(0.05, 0.25, (n_blobs, 1)),
                            u(0, 255, (n_blobs, 3))], axis=1)
    return IdentityParams(
        identity=int(identity),
        face_width=u(0.9, 1.08), face_height=u(1.0, 1.22), jaw_power=u(0.65, 1.35),
        chin_width=u(0.0, 0.35),
        eye_spacing=u(0.36, 0.46), eye_width=u(0.26, 0.34), eye_height=u(0.055, 0.08),
        eye_y=u(-0.3, -0.22), brow_y=u(-0.56, -0.48), brow_arch=u(0.02, 0.07),
        brow_thickness=u(0.045, 0.085),
        nose_length=u(0.3, 0.42), nose_width=u(0.13, 0.19),
        mouth_y=u(0.5, 0.58), mouth_width=u(0.28, 0.38), upper_lip=u(0.04, 0.07),
        lower_lip=u(0.05, 0.09),
        skin=np.clip(skin, 0, 255), hair=np.clip(hair, 0, 255),
        iris=_mix(IRIS_COLOURS, rng), lips=np.clip(lips, 0, 255),
        cloth=u(20, 235, 3), bg_top=bg_top, bg_bottom=bg_bottom, bg_blobs=blobs,
        hair_style=HAIR_STYLES[int(rng.choice(4, p=[0.45, 0.25, 0.2, 0.1]))],
        wrinkle=u(0.0, 0.25),
        roll=u(-0.08, 0.08), yaw=u(-0.15, 0.15), scale=u(0.92, 1.06),
        shift=u(-0.025, 0.025, 2))


def sample_aus(expression: int, intensity: float, rng: np.random.Generator) -> np.ndarray:
    """AU activations (A,) in [0, 1] of one expression at ``intensity`` with per-AU jitter."""
    proto = PROTOTYPE_MATRIX[expression]
    aus = proto * float(intensity) * rng.uniform(0.8, 1.15, proto.shape)
    aus += rng.uniform(0.0, 0.08, proto.shape)   # low-level facial activity
    return np.clip(aus, 0.0, 1.0).astype(np.float32)


def sample_valence_arousal(expression: int, intensity: float,
                           rng: np.random.Generator) -> Tuple[float, float]:
    """Valence/arousal of one expression at ``intensity``, with small noise, in [-1, 1]."""
    va = VA_MATRIX[expression] * float(intensity) + rng.normal(0.0, 0.05, 2)
    va = np.clip(va, -1.0, 1.0)
    return float(va[0]), float(va[1])


# Depth of each landmark group, used by the yaw rotation.
_Z_BROW, _Z_EYE, _Z_MOUTH = 0.55, 0.5, 0.62
_Z_NOSE = np.array([0.7, 0.82, 0.95, 1.1, 0.75, 0.85, 0.95, 0.85, 0.75], dtype=np.float64)


def face_geometry(idp: IdentityParams, aus: np.ndarray) -> Tuple[np.ndarray, Dict]:
    """Compute the 68 canonical landmarks (with depth) and the extra drawing geometry.

    Args:
        idp (IdentityParams): The person.
        aus (np.ndarray): (A,) AU activations in [0, 1], order :data:`AU_NAMES`.

    Returns:
        tuple: ``pts`` (68, 3) canonical (x, y, z), and a dict of extra canonical point arrays
        (``forehead`` (F, 3) the skull outline from landmark 16 over the top to 0, ``hair``
        the hair cap, ``hairline``, ``pupils`` (2, 3) eye centres) plus scalars the renderer
        needs (``mouth_open``, ``teeth``, crease strengths).
    """
    a = {n: float(aus[i]) for i, n in enumerate(AU_NAMES)}
    pts = np.zeros((68, 3), dtype=np.float64)
    W, H = idp.face_width, idp.face_height

    # --- jaw 0-16: lower half-ellipse from temple to temple, chin dropped by AU26.
    phi = np.linspace(0.0, np.pi, 17)
    jaw_drop = 0.2 * a['AU26'] + 0.03 * a['AU25']
    jy0 = idp.eye_y + 0.08
    s = np.sin(phi)
    chin = H * 1.02 - jy0
    xj = -W * np.cos(phi) * (1.0 - idp.chin_width * 0.25 * s ** 6)
    yj = jy0 + chin * s ** idp.jaw_power + jaw_drop * s ** 4
    pts[0:17, 0] = xj
    pts[0:17, 1] = yj
    pts[0:17, 2] = np.sqrt(np.clip(1.0 - (xj / W) ** 2, 0, 1)) * 0.55

    # --- brows 17-26.
    inner_up = 0.15 * a['AU1'] - 0.085 * a['AU4'] - 0.03 * a['AU9']
    outer_up = 0.14 * a['AU2'] - 0.035 * a['AU4'] + 0.03 * a['AU1']
    pull_in = 0.05 * a['AU4'] + 0.015 * a['AU9']
    t = np.linspace(0.0, 1.0, 5)            # 0 = outer end, 1 = inner end
    for side in (-1, 1):                    # -1 image-left, +1 image-right
        cx = side * idp.eye_spacing
        bx = cx + side * (0.6 - 1.1 * t) * idp.eye_width * 1.05
        bx = bx - side * pull_in * t ** 2
        arch = idp.brow_arch * np.sin(np.pi * (0.25 + 0.6 * t))
        lift = outer_up * (1 - t) + inner_up * t
        by = idp.brow_y - arch - lift
        idx = np.arange(17, 22) if side < 0 else np.arange(26, 21, -1)
        pts[idx, 0] = bx
        pts[idx, 1] = by
        pts[idx, 2] = _Z_BROW + 0.1 * t

    # --- eyes 36-47.
    up = idp.eye_height * (1 + 0.85 * a['AU5'] - 0.55 * a['AU7'] - 0.3 * a['AU6']
                           - 0.15 * a['AU4'] - 0.2 * a['AU9'])
    lo = idp.eye_height * 0.8 * (1 - 0.55 * a['AU7'] - 0.55 * a['AU6'] + 0.15 * a['AU5'])
    up, lo = max(up, 0.004), max(lo, 0.004)
    ew = idp.eye_width
    for side in (-1, 1):
        cx, cy = side * idp.eye_spacing, idp.eye_y
        outer = cx + side * ew / 2
        inner = cx - side * ew / 2
        # (x, y) of outer corner, upper outer, upper inner, inner corner, lower inner, lower outer
        ring = [(outer, cy), (cx + side * ew / 6, cy - up), (cx - side * ew / 6, cy - up * 0.95),
                (inner, cy + 0.005), (cx - side * ew / 6, cy + lo * 0.9),
                (cx + side * ew / 6, cy + lo)]
        if side < 0:   # 36 outer, 37, 38, 39 inner, 40, 41
            order = [0, 1, 2, 3, 4, 5]
            base = 36
        else:          # 42 inner, 43, 44, 45 outer, 46, 47
            order = [3, 2, 1, 0, 5, 4]
            base = 42
        for k, o in enumerate(order):
            pts[base + k, :2] = ring[o]
            pts[base + k, 2] = _Z_EYE
    # --- nose 27-35.
    nl, nw = idp.nose_length, idp.nose_width * (1 + 0.25 * a['AU9'])
    top = idp.eye_y + 0.02
    tip = idp.eye_y + 0.1 + nl
    pts[27:31, 0] = 0.0
    pts[27:31, 1] = np.linspace(top, tip, 4)
    wing_up = 0.045 * a['AU9'] + 0.02 * a['AU10']
    ny = tip + 0.06 - wing_up
    pts[31:36, 0] = np.array([-1, -0.5, 0, 0.5, 1]) * nw
    pts[31:36, 1] = ny + np.array([-0.025, 0.01, 0.025, 0.01, -0.025])
    pts[27:36, 2] = _Z_NOSE

    # --- mouth 48-67.
    mw = idp.mouth_width * (1 + 0.22 * a['AU12'] + 0.28 * a['AU20'] - 0.22 * a['AU23']
                            - 0.12 * a['AU24'] - 0.05 * a['AU17'])
    mw_r = mw + 0.07 * a['AU14']
    corner_l = 0.11 * a['AU12'] - 0.1 * a['AU15'] - 0.02 * a['AU20']
    corner_r = corner_l + 0.11 * a['AU14']
    ut = idp.upper_lip * (1 - 0.6 * a['AU24'] - 0.35 * a['AU23'] + 0.2 * a['AU10'])
    lt = idp.lower_lip * (1 - 0.55 * a['AU24'] - 0.3 * a['AU23'] + 0.2 * a['AU17'])
    open_lo = max(0.0, 0.1 * a['AU25'] + 0.22 * a['AU26'] - 0.03 - 0.04 * a['AU24'])
    open_up = 0.055 * a['AU10'] + (0.3 * open_lo if open_lo > 0 else 0.0)
    if open_lo <= 0.0 and open_up < 0.02:
        open_up = 0.0
    my = idp.mouth_y - 0.045 * a['AU17'] - 0.02 * a['AU10']

    def mouth_pt(u: float, dy: float) -> Tuple[float, float]:
        x = u * (mw_r if u > 0 else mw)
        c = corner_r if u > 0 else corner_l
        return x, my + dy - c * abs(u) ** 1.8

    def prof(u, p=0.7):
        return max(0.0, 1 - u * u) ** p

    bow = [0.0, 0.8, 1.0, 0.82, 1.0, 0.8, 0.0]
    for k, u in enumerate(np.linspace(-1, 1, 7)):            # 48-54 upper outer
        x, y = mouth_pt(u, -open_up * prof(u) - ut * bow[k])
        pts[48 + k, :2] = (x, y)
    for k, u in enumerate([2 / 3, 1 / 3, 0.0, -1 / 3, -2 / 3]):  # 55-59 lower outer
        x, y = mouth_pt(u, open_lo * prof(u) + lt * prof(u, 0.5))
        pts[55 + k, :2] = (x, y)
    ui = 0.88
    pts[60, :2] = mouth_pt(-ui, 0.0)
    pts[64, :2] = mouth_pt(ui, 0.0)
    for k, u in enumerate([-0.45, 0.0, 0.45]):                # 61-63 upper inner
        pts[61 + k, :2] = mouth_pt(u, -open_up * prof(u))
    for k, u in enumerate([0.45, 0.0, -0.45]):                # 65-67 lower inner
        pts[65 + k, :2] = mouth_pt(u, open_lo * prof(u))
    pts[48:68, 2] = _Z_MOUTH

    # --- skull outline from landmark 16 over the top of the head back to landmark 0.
    th = np.linspace(0.0, np.pi, 13)
    fh = jy0 - (0.75 + 0.45 * H)                               # top of the skull
    fx = W * np.cos(th)
    fy = jy0 - (jy0 - fh) * np.sin(th) ** 0.8
    forehead = np.stack([fx, fy, np.sqrt(np.clip(1 - (fx / W) ** 2, 0, 1)) * 0.55], 1)
    # hair: a cap slightly larger than the skull; hairline arc on the forehead.
    hx = 1.09 * W * np.cos(th)
    hy = jy0 + 0.06 - (jy0 + 0.06 - (fh - 0.14)) * np.sin(th) ** 0.7
    hair = np.stack([hx, hy, np.zeros_like(hx)], 1)
    gap = {'short': 0.36, 'long': 0.34, 'fringe': 0.17, 'bald': 0.6}[idp.hair_style]
    y_centre = idp.brow_y - gap
    y_temple = jy0 - 0.04
    lx = -0.98 * W * np.cos(th)
    ly = y_temple - (y_temple - y_centre) * np.sin(th) ** 0.6
    hairline = np.stack([lx, ly, np.full_like(lx, 0.6)], 1)
    # pupils (gaze is applied by the renderer).
    pupils = np.array([[-idp.eye_spacing, idp.eye_y, _Z_EYE],
                       [idp.eye_spacing, idp.eye_y, _Z_EYE]])
    extra = dict(
        forehead=forehead, hair=hair, hairline=hairline, pupils=pupils,
        mouth_open=open_lo + open_up, teeth=open_up > 0.015 or open_lo > 0.03,
        nasolabial=min(1.0, idp.wrinkle + 0.8 * a['AU12'] + 0.5 * a['AU10']
                       + 0.5 * a['AU9'] + 0.3 * a['AU6']),
        forehead_lines=min(1.0, idp.wrinkle * 0.5 + 0.9 * max(a['AU1'], a['AU2'])),
        glabella=min(1.0, 0.9 * a['AU4'] + 0.5 * a['AU9']),
        nose_wrinkle=a['AU9'], cheek=a['AU6'], dimple=a['AU14'],
        press=max(a['AU24'], a['AU23']))
    return pts, extra
