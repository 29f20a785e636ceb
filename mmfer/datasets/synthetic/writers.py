# Copyright (c) mmfer contributors. All rights reserved.
"""Write synthetic faces to disk in the on-disk layouts of the real FER datasets.

Each writer draws identity and expression independently (identity does not predict
expression), returns a summary dict (``root``, counts), writes a ``meta.csv`` (identity,
video, frame, expression ... of every image; not part of the real releases) and:

=================  =========================================================================
writer             layout under ``out_root``
=================  =========================================================================
write_face_folder  ``images/000000.jpg`` ..., ``landmarks.npz`` (mmfer landmark format, paths
                   relative to ``out_root``), ``meta.csv`` (img_path, identity, gt_label,
                   expression, intensity, valence, arousal)
write_rafdb        ``EmoLabel/list_patition_label.txt`` (``train_00001.jpg 5``,
                   ``test_0001.jpg 3``; 1 Surprise, 2 Fear, 3 Disgust, 4 Happiness, 5 Sadness,
                   6 Anger, 7 Neutral) + ``Image/aligned/train_00001_aligned.jpg``; train and
                   test people disjoint by default (``identity_split``)
write_affectnet    ``Manually_Annotated_file_lists/{training,validation}.csv`` (official
                   header; 0 Neutral ... 7 Contempt, 8 None, 9 Uncertain, 10 No-Face) +
                   ``Manually_Annotated_Images/<subdir>/<sha1>.jpg`` (face on a larger canvas,
                   face_x/y/width/height and the 136 landmark numbers in image pixels)
write_fer2013      ``fer2013.csv`` (``emotion,pixels,Usage``; 48x48 grey; 0 Angry, 1 Disgust,
                   2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral)
write_affwild2     ``annotations/{EXPR_Classification,VA_Estimation,AU_Detection}_Challenge/
                   {Train,Validation}_Set/<video>.txt`` + ``cropped_aligned/<video>/00001.jpg``
write_voxceleb     ``id10001/vid_000/00001.jpg`` ..., ``landmarks.npz``, ``meta.csv``
write_fec          ``annotations/{train,test}.csv`` (``image1,image2,image3,odd_one_out,
                   triplet_type,agreement``) + ``images/<split>_<n>_<k>.jpg`` (the converted
                   layout ``mmfer.datasets.FEC`` reads)
write_ms1m         InsightFace ``train.rec``/``train.idx``/``property`` + ``landmarks.npz``
                   keyed ``train.rec#<key>`` (:mod:`.fr_writers`)
write_lfw          ``<Person>/<Person>_0001.jpg`` + ``pairs.txt`` (:mod:`.fr_writers`)
write_bp4d         ``AUCoding/<subject>_<task>.csv`` + ``aligned/<subject>/<task>/<n>.jpg``
write_disfa        ``ActionUnit_Labels/<SN001>/<SN001>_au<N>.txt`` + ``aligned/<SN001>/...``
write_gft          ``AU_labels/<video>.csv`` + ``aligned/<video>/<n:05d>.jpg``
                   (the three raw AU layouts: :mod:`.au_writers`)
=================  =========================================================================

Classes a dataset does not have are never drawn for it (contempt for RAF-DB and FER2013);
Aff-Wild2 maps contempt to its ``Other`` class.
"""
import hashlib
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..landmark_io import save_landmarks
from ._io import imwrite, meta_row, progress_bar, tick, write_meta
from .au_writers import write_bp4d, write_disfa, write_gft
from .face_model import AU_INDEX, EXPRESSION_CLASSES
from .fr_writers import write_lfw, write_ms1m
from .generator import SyntheticFaceGenerator

# EXPRESSION_CLASSES name -> each dataset's own label code (None: not in the dataset).
RAFDB_LABELS = {'surprise': 1, 'fear': 2, 'disgust': 3, 'happiness': 4, 'sadness': 5,
                'anger': 6, 'neutral': 7, 'contempt': None}
AFFECTNET_LABELS = {'neutral': 0, 'happiness': 1, 'sadness': 2, 'surprise': 3, 'fear': 4,
                    'disgust': 5, 'anger': 6, 'contempt': 7}
AFFECTNET_NONE, AFFECTNET_UNCERTAIN, AFFECTNET_NO_FACE = 8, 9, 10
FER2013_LABELS = {'anger': 0, 'disgust': 1, 'fear': 2, 'happiness': 3, 'sadness': 4,
                  'surprise': 5, 'neutral': 6, 'contempt': None}
AFFWILD2_EXPR_LABELS = {'neutral': 0, 'anger': 1, 'disgust': 2, 'fear': 3, 'happiness': 4,
                        'sadness': 5, 'surprise': 6, 'contempt': 7}   # 7 = Other
AFFWILD2_EXPR_HEADER = 'Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other'
AFFWILD2_AUS = ('AU1', 'AU2', 'AU4', 'AU6', 'AU7', 'AU10', 'AU12', 'AU15', 'AU23', 'AU24',
                'AU25', 'AU26')
AFFECTNET_HEADER = ('subDirectory_filePath,face_x,face_y,face_width,face_height,'
                    'facial_landmarks,expression,valence,arousal')

for _table in (RAFDB_LABELS, AFFECTNET_LABELS, FER2013_LABELS, AFFWILD2_EXPR_LABELS):
    assert set(_table) == set(EXPRESSION_CLASSES)


def _classes_of(table: Dict[str, Optional[int]]) -> List[str]:
    return [c for c in EXPRESSION_CLASSES if table[c] is not None]


def write_face_folder(out_root: str, num: int = 200, image_size: int = 112, seed: int = 0,
                      num_identities: int = 20, progress: bool = False) -> Dict:
    """An unlabeled image folder with a landmark file and a ``meta.csv`` for evaluation.

    Args:
        out_root (str): Output folder.
        num (int): Number of images.
        image_size (int): Side in pixels.
        seed (int): Seeds identities and samples.
        num_identities (int): Number of people.
        progress (bool): Show a progress bar.

    Returns:
        dict: ``root``, ``num_images``, ``landmarks`` (path), ``meta`` (path).
    """
    gen = SyntheticFaceGenerator(image_size, seed=seed)
    paths, kpts, meta = [], [], []
    bar = progress_bar(num, progress)
    for i, face in enumerate(gen.sample(num, seed=seed, num_identities=num_identities)):
        rel = f'images/{i:06d}.jpg'
        imwrite(osp.join(out_root, rel), face['img'])
        paths.append(rel)
        kpts.append(face['keypoints'])
        meta.append(meta_row(rel, face))
        tick(bar)
    lm = osp.join(out_root, 'landmarks.npz')
    save_landmarks(lm, paths, np.stack(kpts) if kpts else np.zeros((0, 68, 2), np.float32))
    write_meta(osp.join(out_root, 'meta.csv'), meta)
    return dict(root=out_root, num_images=num, landmarks=lm, meta=osp.join(out_root, 'meta.csv'))


IDENTITY_SPLITS = ('disjoint', 'shared')


def split_identities(num_identities: int, num_train: int, num_test: int,
                     num_test_identities: Optional[int] = None) -> Tuple[int, int]:
    """People of the train and test splits of an identity-disjoint layout.

    Args:
        num_identities (int): People in total.
        num_train (int): Train (bank) images.
        num_test (int): Test images.
        num_test_identities (int, optional): People of the test split; default in proportion
            to the images (at least 1 when there are test images).

    Returns:
        tuple: ``(train people, test people)``; train identities are ``[0, train people)``,
        test identities the next ``test people``.

    Raises:
        ValueError: fewer than 2 people for two non-empty splits, or a bad
            ``num_test_identities``.
    """
    if num_test == 0 or num_train == 0:
        return (num_identities, 0) if num_test == 0 else (0, num_identities)
    if num_identities < 2:
        raise ValueError(f'identity-disjoint train/test splits need at least 2 identities, got '
                         f'{num_identities}')
    if num_test_identities is None:
        n_test = int(round(num_identities * num_test / (num_train + num_test)))
        n_test = min(max(n_test, 1), num_identities - 1)
    else:
        n_test = int(num_test_identities)
        if not 1 <= n_test <= num_identities - 1:
            raise ValueError(f'num_test_identities must be in [1, {num_identities - 1}], got '
                             f'{num_test_identities}')
    return num_identities - n_test, n_test


def write_rafdb(out_root: str, num_train: int = 160, num_test: int = 40, image_size: int = 100,
                seed: int = 0, num_identities: int = 40, progress: bool = False,
                identity_split: str = 'disjoint',
                num_test_identities: Optional[int] = None) -> Dict:
    """RAF-DB basic emotion layout (7 classes; contempt is not drawn).

    Writes ``EmoLabel/list_patition_label.txt`` (train lines then test lines, ``name label``
    with labels 1-7) and ``Image/aligned/<name>_aligned.jpg`` (100x100 in the real data), plus
    a ``meta.csv`` that the real release does not have (identity, expression, ... per image,
    paths relative to ``out_root``; ``gt_label`` indexes :data:`EXPRESSION_CLASSES`);
    :class:`~mmfer.datasets.RAFDB` reads it into each item's ``identity``.

    With ``identity_split='disjoint'`` (default) the train split (the k-NN bank) and the test
    split never share a person: train people are ``[0, n)``, test people the next ones
    (:func:`split_identities`). ``'shared'`` is the earlier layout (both splits draw from the
    same ``num_identities`` people, so every test person also has train images); its files
    are unchanged.

    Returns:
        dict: ``root``, ``num_train``, ``num_test``, ``label_file``, ``identity_split``,
        ``train_identities`` / ``test_identities`` (``[first, end)`` identity ranges).
    """
    if identity_split not in IDENTITY_SPLITS:
        raise ValueError(f'identity_split must be one of {IDENTITY_SPLITS}, got '
                         f'{identity_split!r}')
    if identity_split == 'shared':
        ranges = dict(train=(0, num_identities), test=(0, num_identities))
    else:
        n_train_ids, n_test_ids = split_identities(num_identities, num_train, num_test,
                                                   num_test_identities)
        ranges = dict(train=(0, n_train_ids), test=(n_train_ids, n_train_ids + n_test_ids))
    gen = SyntheticFaceGenerator(image_size, seed=seed)
    classes = _classes_of(RAFDB_LABELS)
    lines, meta = [], []
    bar = progress_bar(num_train + num_test, progress)
    for split, n, digits, sub_seed in (('train', num_train, 5, seed),
                                       ('test', num_test, 4, seed + 1_000_003)):
        lo, hi = ranges[split]
        faces = gen.sample(n, seed=sub_seed, num_identities=max(hi - lo, 1),
                           identity_offset=lo, expressions=classes) if n else ()
        for i, face in enumerate(faces):
            name = f'{split}_{i + 1:0{digits}d}'
            rel = osp.join('Image', 'aligned', f'{name}_aligned.jpg')
            imwrite(osp.join(out_root, rel), face['img'])
            lines.append(f"{name}.jpg {RAFDB_LABELS[face['expression']]}\n")
            meta.append(meta_row(rel, face))
            tick(bar)
    label_file = osp.join(out_root, 'EmoLabel', 'list_patition_label.txt')
    os.makedirs(osp.dirname(label_file), exist_ok=True)
    with open(label_file, 'w') as f:
        f.writelines(lines)
    write_meta(osp.join(out_root, 'meta.csv'), meta)
    return dict(root=out_root, num_train=num_train, num_test=num_test, label_file=label_file,
                identity_split=identity_split, train_identities=list(ranges['train']),
                test_identities=list(ranges['test']))


def _affectnet_row(rel: str, box: Sequence[int], kpts: np.ndarray, code: int, valence: float,
                   arousal: float) -> str:
    lms = ';'.join(f'{v:.2f}' for v in kpts.reshape(-1))
    return (f'{rel},{box[0]},{box[1]},{box[2]},{box[3]},{lms},{code},'
            f'{valence:.6f},{arousal:.6f}\n')


def write_affectnet(out_root: str, num_train: int = 160, num_val: int = 40,
                    image_size: int = 112, seed: int = 0, num_identities: int = 40,
                    special_fraction: float = 0.06, progress: bool = False) -> Dict:
    """AffectNet (manually annotated part) layout.

    Rows with codes 0-7 show a face of that class; about ``special_fraction`` of the rows (at
    least 3 per file, cycling 8 None, 9 Uncertain, 10 No-Face) are the non-class rows of the
    real files: None shows a face with random AUs, Uncertain an even blend of two classes,
    No-Face a background only, with valence = arousal = -2 and the landmarks a face detector
    would have reported (the reason the real images were flagged). Every face is pasted
    at a random offset on a canvas 1-1.5x larger, so ``face_x/face_y/face_width/face_height``
    and the landmarks are in canvas pixels.

    Returns:
        dict: ``root``, ``num_train``, ``num_val`` (rows per file, special rows included),
        ``num_special`` (per file), ``csv`` (the two paths).
    """
    gen = SyntheticFaceGenerator(image_size, seed=seed)
    lists = osp.join(out_root, 'Manually_Annotated_file_lists')
    os.makedirs(lists, exist_ok=True)
    out = dict(root=out_root, num_special={}, csv={})
    bar = progress_bar(num_train + num_val, progress)
    for split, fname, n, sub_seed in (('train', 'training.csv', num_train, seed),
                                      ('val', 'validation.csv', num_val, seed + 1_000_003)):
        rng = np.random.default_rng([sub_seed, 2017])
        n_special = min(n, max(3, int(round(special_fraction * n)))) if n else 0
        special = set(rng.choice(n, n_special, replace=False).tolist()) if n else set()
        faces = gen.sample(n, seed=sub_seed, num_identities=num_identities)
        rows, k_special = [], 0
        for i, face in enumerate(faces):
            code = AFFECTNET_LABELS[face['expression']]
            valence, arousal = face['valence'], face['arousal']
            img = face['img']
            if i in special:
                code = (AFFECTNET_NONE, AFFECTNET_UNCERTAIN, AFFECTNET_NO_FACE)[k_special % 3]
                k_special += 1
                sseed = int(rng.integers(2**31 - 1))
                if code == AFFECTNET_NONE:
                    aus = rng.uniform(0.0, 0.6, len(face['aus'])).astype(np.float32)
                    face = gen.render(face['identity'], 'neutral', seed=sseed, aus=aus)
                    valence, arousal = (float(v) for v in rng.uniform(-0.5, 0.5, 2))
                elif code == AFFECTNET_UNCERTAIN:
                    c1, c2 = rng.choice(len(EXPRESSION_CLASSES), 2, replace=False)
                    a1 = gen.render(face['identity'], int(c1), seed=sseed)
                    a2 = gen.render(face['identity'], int(c2), seed=sseed + 1)
                    face = gen.render(face['identity'], 'neutral', seed=sseed,
                                      aus=(a1['aus'] + a2['aus']) / 2)
                    valence = (a1['valence'] + a2['valence']) / 2
                    arousal = (a1['arousal'] + a2['arousal']) / 2
                else:
                    valence = arousal = -2.0
                img = (face['img'] if code != AFFECTNET_NO_FACE else
                       gen.render_background(face['identity'], seed=sseed))
            # paste on a larger canvas at a random offset
            big = int(round(image_size * rng.uniform(1.0, 1.5)))
            ox, oy = (int(v) for v in rng.integers(0, big - image_size + 1, 2))
            canvas = cv2.copyMakeBorder(img, oy, big - image_size - oy, ox,
                                        big - image_size - ox, cv2.BORDER_REPLICATE)
            # the box a face detector reports: landmarks plus the forehead
            kp = face['keypoints']
            x1, x2 = kp[:, 0].min(), kp[:, 0].max()
            y1, y2 = kp[:, 1].min() - 0.2 * (kp[:, 1].max() - kp[:, 1].min()), kp[:, 1].max()
            x1, y1 = max(int(np.floor(x1)), 0), max(int(np.floor(y1)), 0)
            x2 = min(int(np.ceil(x2)), image_size)
            y2 = min(int(np.ceil(y2)), image_size)
            box = (x1 + ox, y1 + oy, x2 - x1, y2 - y1)
            digest = hashlib.sha1(f'{seed}/{split}/{i}'.encode()).hexdigest()
            rel = f'{1 + int(rng.integers(0, 20))}/{digest}.jpg'
            imwrite(osp.join(out_root, 'Manually_Annotated_Images', rel), canvas)
            rows.append(_affectnet_row(rel, box, face['keypoints'] + np.array([ox, oy]), code,
                                       valence, arousal))
            tick(bar)
        path = osp.join(lists, fname)
        with open(path, 'w') as f:
            f.write(AFFECTNET_HEADER + '\n')
            f.writelines(rows)
        out['num_' + split] = n
        out['num_special'][split] = n_special
        out['csv'][split] = path
    return out


def write_fer2013(out_root: str, num: int = 200, seed: int = 0, num_identities: int = 40,
                  split: Sequence[float] = (0.8, 0.1, 0.1), progress: bool = False) -> Dict:
    """FER2013 ``fer2013.csv``: Training rows, then PublicTest, then PrivateTest (48x48 grey).

    Returns:
        dict: ``root``, ``csv``, ``num_images`` and ``usage`` counts.
    """
    if len(split) != 3 or abs(sum(split) - 1.0) > 1e-6 or min(split) < 0:
        raise ValueError(f'split must be 3 non-negative fractions summing to 1, got {split}')
    gen = SyntheticFaceGenerator(48, seed=seed)
    n_train = int(round(split[0] * num))
    n_pub = int(round(split[1] * num))
    usage = ['Training'] * n_train + ['PublicTest'] * n_pub + \
        ['PrivateTest'] * (num - n_train - n_pub)
    path = osp.join(out_root, 'fer2013.csv')
    os.makedirs(out_root, exist_ok=True)
    bar = progress_bar(num, progress)
    with open(path, 'w') as f:
        f.write('emotion,pixels,Usage\n')
        for i, face in enumerate(gen.sample(num, seed=seed, num_identities=num_identities,
                                            expressions=_classes_of(FER2013_LABELS))):
            grey = cv2.cvtColor(face['img'], cv2.COLOR_BGR2GRAY)
            f.write(f"{FER2013_LABELS[face['expression']]},"
                    f"{' '.join(map(str, grey.reshape(-1).tolist()))},{usage[i]}\n")
            tick(bar)
    counts = {u: usage.count(u) for u in ('Training', 'PublicTest', 'PrivateTest')}
    return dict(root=out_root, csv=path, num_images=num, usage=counts)


FEC_TRIPLET_TYPES = ('ONE_CLASS_TRIPLET', 'TWO_CLASS_TRIPLET', 'THREE_CLASS_TRIPLET')
FEC_HEADER = 'image1,image2,image3,odd_one_out,triplet_type,agreement'


def _fec_classes(ttype: str, rng: np.random.Generator) -> List[int]:
    n = len(EXPRESSION_CLASSES)
    if ttype == 'ONE_CLASS_TRIPLET':
        return [int(rng.integers(n))] * 3
    if ttype == 'TWO_CLASS_TRIPLET':
        c, d = (int(v) for v in rng.choice(n, 2, replace=False))
        out = [c, c, d]
        rng.shuffle(out)
        return out
    return [int(v) for v in rng.choice(n, 3, replace=False)]


def fec_vote(aus: np.ndarray, num_annotators: int, noise: float,
             rng: np.random.Generator) -> Tuple[int, float]:
    """The odd one out of three faces by simulated annotators, and their agreement.

    Each annotator picks the most similar pair by AU distance plus Gaussian noise (std
    ``noise``); the third face is their odd one out. The answer is the majority (a tie goes
    to the noise-free answer, or else to the lowest position).

    Args:
        aus (np.ndarray): (3, A) AU activations of the three faces.
        num_annotators (int): Number of simulated annotators (>= 1).
        noise (float): Std of the noise added to each pair distance.
        rng (np.random.Generator): The draws.

    Returns:
        tuple: ``(odd one out in 1-3, agreement = majority votes / annotators)``.
    """
    pairs = ((1, 2), (0, 2), (0, 1))            # pair k leaves out face k
    dist = np.array([np.linalg.norm(aus[i] - aus[j]) for i, j in pairs])
    clean = int(np.argmin(dist))
    votes = np.argmin(dist[None] + rng.normal(0.0, noise, (num_annotators, 3)), axis=1)
    counts = np.bincount(votes, minlength=3)
    top = np.flatnonzero(counts == counts.max())
    odd = clean if clean in top else int(top[0])
    return odd + 1, float(counts[odd]) / num_annotators


def write_fec(out_root: str, num_train: int = 80, num_test: int = 20, image_size: int = 112,
              seed: int = 0, num_identities: int = 40, num_annotators: int = 6,
              vote_noise: float = 0.15, progress: bool = False) -> Dict:
    """FEC triplets in the layout of ``tools/dataset_converters/fec.py``'s output.

    Writes ``annotations/{train,test}.csv`` (header ``image1,image2,image3,odd_one_out,
    triplet_type,agreement``), ``images/<split>_<triplet>_<k>.jpg`` (three faces per triplet)
    and ``meta.csv`` (per image). Triplet types cycle one-class (three faces of one class at
    different intensities), two-class (two of one class, one of another) and three-class;
    each face's person is drawn independently. The odd one out is the majority of
    ``num_annotators`` simulated annotators (:func:`fec_vote`), ``agreement`` their majority
    share, as in the converted real data.

    Args:
        num_train (int): Train triplets.
        num_test (int): Test triplets.
        num_annotators (int): Simulated annotators per triplet (FEC has about 6).
        vote_noise (float): Std of the annotators' noise on AU distances.

    Returns:
        dict: ``root``, ``num_train``, ``num_test``, ``csv`` (per split), ``types`` (per split,
        count of each triplet type), ``num_images``.
    """
    if num_annotators < 1:
        raise ValueError(f'num_annotators must be >= 1, got {num_annotators}')
    gen = SyntheticFaceGenerator(image_size, seed=seed)
    os.makedirs(osp.join(out_root, 'annotations'), exist_ok=True)
    out = dict(root=out_root, num_train=num_train, num_test=num_test, csv={}, types={})
    meta = []
    bar = progress_bar(3 * (num_train + num_test), progress)
    for split, n, sub_seed in (('train', num_train, seed), ('test', num_test, seed + 1_000_003)):
        rng = np.random.default_rng([sub_seed, 2018])
        rows, types = [FEC_HEADER + '\n'], dict.fromkeys(FEC_TRIPLET_TYPES, 0)
        for t in range(n):
            ttype = FEC_TRIPLET_TYPES[t % 3]
            types[ttype] += 1
            names, aus = [], []
            for k, c in enumerate(_fec_classes(ttype, rng)):
                face = gen.render(int(rng.integers(num_identities)), c,
                                  float(rng.uniform(0.3, 1.0)), seed=int(rng.integers(2**31 - 1)))
                name = f'{split}_{t:06d}_{k + 1}.jpg'
                imwrite(osp.join(out_root, 'images', name), face['img'])
                meta.append(meta_row(f'images/{name}', face))
                names.append(name)
                aus.append(face['aus'])
                tick(bar)
            odd, agreement = fec_vote(np.stack(aus), num_annotators, vote_noise, rng)
            rows.append(f'{names[0]},{names[1]},{names[2]},{odd},{ttype},{agreement:.3f}\n')
        path = osp.join(out_root, 'annotations', f'{split}.csv')
        with open(path, 'w') as f:
            f.writelines(rows)
        out['csv'][split] = path
        out['types'][split] = types
    write_meta(osp.join(out_root, 'meta.csv'), meta)
    out['num_images'] = len(meta)
    return out


def _affwild2_video_names(num_videos: int, rng: np.random.Generator) -> List[str]:
    """Real-looking Aff-Wild2 names; the last two form a ``_left``/``_right`` pair."""
    sizes = ['1280x720', '640x360', '1920x1080', '480x360', '640x480']
    n_single = num_videos - 2 if num_videos >= 2 else num_videos
    names = [f'{k + 1}-30-{sizes[int(rng.integers(len(sizes)))]}' for k in range(n_single)]
    if num_videos >= 2:
        pair = f'video{num_videos + 1}'
        names += [pair + '_left', pair + '_right']
    return names


def _unannotated_run(n: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros(n, bool)
    k = int(round(fraction * n))
    if k > 0:
        start = int(rng.integers(0, n - k + 1))
        mask[start:start + k] = True
    return mask


def write_affwild2(out_root: str, num_videos: int = 4, frames_per_video: int = 60,
                   image_size: int = 112, seed: int = 0, val_videos: int = 1,
                   unannotated_fraction: float = 0.05, missing_fraction: float = 0.03,
                   progress: bool = False) -> Dict:
    """Aff-Wild2 (ABAW) layout: per-video annotation files of the three challenges + frames.

    Every video has one line per frame in each challenge's file (after the header): EXPR
    codes 0-7 (contempt -> 7 Other), -1 on a contiguous unannotated run; VA ``valence,arousal``
    with ``-5,-5`` unannotated; AU 0/1 per AU (activation >= 0.5), ``-1`` unannotated. The
    unannotated run differs per challenge. ``cropped_aligned/<video>/00001.jpg`` is the frame
    of annotation line 1; about ``missing_fraction`` of the frames have no image (no face
    detected in the real data). The last two videos are a ``_left``/``_right`` pair (two
    people of the same video). The first ``val_videos`` single videos go to Validation_Set
    (as many as leave at least one training video).

    Returns:
        dict: ``root``, ``videos`` (``{name: {'set', 'num_frames', 'missing' (list of
        1-based frame numbers without an image), 'identity'}}``).
    """
    if num_videos < 1 or frames_per_video < 1:
        raise ValueError(f'num_videos and frames_per_video must be >= 1, '
                         f'got {num_videos}, {frames_per_video}')
    gen = SyntheticFaceGenerator(image_size, seed=seed)
    rng = np.random.default_rng([seed, 2022])
    names = _affwild2_video_names(num_videos, rng)
    n_single = len([n for n in names if not n.endswith(('_left', '_right'))])
    # keep at least one training video: the pair, or else the last single video
    n_val = min(val_videos, n_single if len(names) > n_single else max(n_single - 1, 0))
    videos = {}
    ann = osp.join(out_root, 'annotations')
    bar = progress_bar(num_videos * frames_per_video, progress)
    for v, name in enumerate(names):
        subset = 'Validation_Set' if v < n_val else 'Train_Set'
        frames = gen.render_video(identity=v, num_frames=frames_per_video,
                                  seed=seed * 1000 + v, video=v)
        n = len(frames)
        missing = set(np.flatnonzero(rng.random(n) < missing_fraction).tolist())
        for i, fr in enumerate(frames):
            if i not in missing:
                imwrite(osp.join(out_root, 'cropped_aligned', name, f'{i + 1:05d}.jpg'),
                         fr['img'])
            tick(bar)
        expr_na = _unannotated_run(n, unannotated_fraction, rng)
        va_na = _unannotated_run(n, unannotated_fraction, rng)
        au_na = _unannotated_run(n, unannotated_fraction, rng)
        au_cols = [AU_INDEX[a] for a in AFFWILD2_AUS]
        expr_lines = [AFFWILD2_EXPR_HEADER + '\n']
        va_lines = ['valence,arousal\n']
        au_lines = [','.join(AFFWILD2_AUS) + '\n']
        for i, fr in enumerate(frames):
            expr_lines.append('-1\n' if expr_na[i] else
                              f"{AFFWILD2_EXPR_LABELS[fr['expression']]}\n")
            va_lines.append('-5,-5\n' if va_na[i] else
                            f"{fr['valence']:.3f},{fr['arousal']:.3f}\n")
            au_lines.append(','.join(['-1'] * len(au_cols)) + '\n' if au_na[i] else
                            ','.join(str(int(fr['aus'][c] >= 0.5)) for c in au_cols) + '\n')
        for challenge, lines in (('EXPR_Classification_Challenge', expr_lines),
                                 ('VA_Estimation_Challenge', va_lines),
                                 ('AU_Detection_Challenge', au_lines)):
            d = osp.join(ann, challenge, subset)
            os.makedirs(d, exist_ok=True)
            with open(osp.join(d, f'{name}.txt'), 'w') as f:
                f.writelines(lines)
        videos[name] = dict(set=subset, num_frames=n, identity=v,
                            missing=[m + 1 for m in sorted(missing)])
    return dict(root=out_root, videos=videos)


def write_voxceleb(out_root: str, num_identities: int = 4, videos_per_identity: int = 2,
                   frames_per_video: int = 10, image_size: int = 112, seed: int = 0,
                   progress: bool = False, frames_dir: str = '') -> Dict:
    """VoxCeleb-style ``<identity>/<video>/<frame:05d>.jpg`` tree (``id10001/vid_000/00001.jpg``).

    ``landmarks.npz`` at the root holds every frame's 68 landmarks (paths relative to the
    root); ``meta.csv`` holds identity, video, frame and expression of each frame. With
    ``frames_dir='frames'`` the tree goes below ``out_root/frames/`` (the layout of the SSL-FER
    configs: ``data_prefix=dict(img_path='frames/')``, landmark keys ``frames/id10001/...``).

    Returns:
        dict: ``root``, ``num_images``, ``num_videos``, ``landmarks``, ``meta``.
    """
    gen = SyntheticFaceGenerator(image_size, seed=seed)
    paths, kpts, meta = [], [], []
    bar = progress_bar(num_identities * videos_per_identity * frames_per_video, progress)
    vid = 0
    for k in range(num_identities):
        for j in range(videos_per_identity):
            frames = gen.render_video(identity=k, num_frames=frames_per_video,
                                      seed=seed * 100003 + vid, video=vid)
            for fr in frames:
                rel = f'id{10001 + k}/vid_{j:03d}/{fr["frame"] + 1:05d}.jpg'
                rel = f'{frames_dir.strip("/")}/{rel}' if frames_dir.strip('/') else rel
                imwrite(osp.join(out_root, rel), fr['img'])
                paths.append(rel)
                kpts.append(fr['keypoints'])
                meta.append(meta_row(rel, fr))
                tick(bar)
            vid += 1
    lm = osp.join(out_root, 'landmarks.npz')
    save_landmarks(lm, paths, np.stack(kpts) if kpts else np.zeros((0, 68, 2), np.float32))
    write_meta(osp.join(out_root, 'meta.csv'), meta)
    return dict(root=out_root, num_images=len(paths), num_videos=vid, landmarks=lm,
                meta=osp.join(out_root, 'meta.csv'))


#: Every layout's writer by ``make_synthetic_faces.py --format`` name.
WRITERS = dict(folder=write_face_folder, rafdb=write_rafdb, affectnet=write_affectnet,
               fer2013=write_fer2013, affwild2=write_affwild2, voxceleb=write_voxceleb,
               fec=write_fec, ms1m=write_ms1m, bp4d=write_bp4d, disfa=write_disfa,
               gft=write_gft, lfw=write_lfw)
