# Copyright (c) mmfer contributors. All rights reserved.
"""LFW protocol helpers of the FR-KNN probe (``tools/misc/fr_knn_lfw.py``): list the
``<Person>/<Person>_NNNN.jpg`` tree, split people's images into k-NN memory and test, read
``pairs.txt``. Accuracy functions: :func:`mmfer.evaluation.knn_accuracy` and
:func:`mmfer.evaluation.verification_accuracy`."""
import os
import os.path as osp

import numpy as np

__all__ = ['scan_lfw', 'split_people', 'read_pairs']

IMG_EXT = ('.jpg', '.jpeg', '.png')


def scan_lfw(root):
    """{person: [image paths]} of an LFW tree; raises when the layout is not there."""
    if not osp.isdir(root):
        raise FileNotFoundError(f'LFW folder {root} does not exist')
    people = {}
    for name in sorted(os.listdir(root)):
        folder = osp.join(root, name)
        if not osp.isdir(folder):
            continue
        imgs = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMG_EXT))
        if imgs:
            people[name] = [osp.join(folder, f) for f in imgs]
    if not people:
        raise ValueError(f'{root}: no <Person>/<Person>_NNNN.jpg images (not an LFW layout)')
    return people


def split_people(people, min_faces, test_fraction, seed):
    """Seeded per-person split -> (train paths, train labels, test paths, test labels, names)."""
    rng = np.random.RandomState(seed)
    kept = [p for p in sorted(people) if len(people[p]) >= min_faces]
    if len(kept) < 2:
        raise ValueError(f'only {len(kept)} people have >= {min_faces} images; lower '
                         '--min-faces')
    tr, trl, te, tel = [], [], [], []
    for label, person in enumerate(kept):
        paths = list(people[person])
        order = rng.permutation(len(paths))
        n_test = max(1, int(round(test_fraction * len(paths))))
        for j, idx in enumerate(order):
            (te if j < n_test else tr).append(paths[idx])
            (tel if j < n_test else trl).append(label)
    return tr, trl, te, tel, kept


def read_pairs(path, root):
    """LFW pairs.txt -> list of (path_a, path_b, same)."""
    def img(name, idx):
        return osp.join(root, name, f'{name}_{int(idx):04d}.jpg')

    pairs = []
    with open(path) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    for lineno, parts in enumerate(lines[1:], start=2):
        if len(parts) == 3:
            pairs.append((img(parts[0], parts[1]), img(parts[0], parts[2]), True))
        elif len(parts) == 4:
            pairs.append((img(parts[0], parts[1]), img(parts[2], parts[3]), False))
        else:
            raise ValueError(f'{path}:{lineno}: expected "name i j" or "name1 i name2 j"')
    missing = [p for pr in pairs for p in pr[:2] if not osp.isfile(p)]
    if missing:
        raise FileNotFoundError(f'{path}: {len(missing)} pair images missing, e.g. {missing[0]}')
    return pairs
