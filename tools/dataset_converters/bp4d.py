#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Convert BP4D's released AU occurrence labels into mmfer AU lists (subject-wise 3 folds).

BP4D release layout::

    AUCoding/F001_T1.csv      # one file per subject and task
    AUCoding/F001_T2.csv      # header "Frame,1,2,4,6,..." then "<frame>,0,1,9,..."

Values: 1 present, 0 absent, 9 unknown (kept as unknown: masked). Columns may be named ``1``
or ``AU1``; output names are ``AU<n>``. ``--aus`` restricts the output to the listed AUs
(e.g. the 12 of the EmoCo/JAA-Net protocol: ``1 2 4 6 7 10 12 14 15 17 23 24``).

Images at ``--img-pattern`` (default ``{subject}/{task}/{frame}.jpg``, the 2D frames of the
release); with ``--img-root`` missing images are skipped and counted.

Example::

    python tools/dataset_converters/bp4d.py data/BP4D/AUCoding data/BP4D/lists \\
        --img-root data/BP4D/aligned --aus 1 2 4 6 7 10 12 14 15 17 23 24
"""
import argparse
import csv
import json
import os
import os.path as osp
import re
import tempfile
from typing import List, Optional, Sequence

import numpy as np

# write_au_list / subject_folds / write_au_splits below are shared by disfa.py and gft.py.
FILE_RE = re.compile(r'^(?P<subject>[^_]+)_(?P<task>[^_.]+)\.csv$', re.IGNORECASE)
EMOCO_BP4D_AUS = (1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24)


def write_au_list(path: str, au_names: Sequence[str], img_paths: Sequence[str],
                  labels: np.ndarray) -> None:
    """Write an AU list file (header ``path AU...`` and ``img 1/0/9`` lines), atomically.

    Args:
        path (str): Output file.
        au_names (Sequence[str]): A AU names.
        img_paths (Sequence[str]): N image paths (relative to the image root).
        labels (np.ndarray): (N, A) with 1, 0 and negative / 9 for unknown (written as 9).
    """
    labels = np.asarray(labels).reshape(len(img_paths), len(au_names))
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.txt')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write('path ' + ' '.join(au_names) + '\n')
            for img, row in zip(img_paths, labels):
                vals = ['1' if v == 1 else '0' if v == 0 else '9' for v in row.tolist()]
                f.write(f'{img} {" ".join(vals)}\n')
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def subject_folds(subjects: Sequence[str], num_folds: int = 3) -> List[List[str]]:
    """Split subjects into ``num_folds`` disjoint folds: sorted, then contiguous chunks whose
    sizes differ by at most one (deterministic, so every converter run gives the same folds).
    """
    subjects = sorted(set(subjects))
    if len(subjects) < num_folds:
        raise ValueError(f'need at least {num_folds} subjects for {num_folds} subject-wise '
                         f'folds, got {len(subjects)}: {subjects}')
    folds, start = [], 0
    for k in range(num_folds):
        size = len(subjects) // num_folds + (1 if k < len(subjects) % num_folds else 0)
        folds.append(subjects[start:start + size])
        start += size
    return folds


def write_au_splits(out_dir: str, au_names: Sequence[str], records: Sequence[tuple],
                    num_folds: int = 3, folds: Optional[List[List[str]]] = None) -> dict:
    """Write ``all.txt`` and subject-wise ``fold{k}_train.txt`` / ``fold{k}_test.txt``.

    Args:
        out_dir (str): Output folder.
        au_names (Sequence[str]): AU names.
        records (Sequence[tuple]): ``(subject, img_path, labels (A,))`` per frame.
        num_folds (int): Defaults to 3.
        folds (list[list[str]], optional): Subjects of each fold; default
            :func:`subject_folds`.

    Returns:
        dict: ``{'folds': [[subjects]...], 'counts': {file name: frames}}``.
    """
    subjects = [r[0] for r in records]
    if folds is None:
        folds = subject_folds(subjects, num_folds)
    listed = [s for f in folds for s in f]
    unknown = sorted(set(subjects) - set(listed))
    if unknown:
        raise ValueError(f'subjects {unknown} are in no fold of {folds}')
    counts = {}

    def dump(name, recs):
        write_au_list(osp.join(out_dir, name), au_names, [r[1] for r in recs],
                      np.asarray([r[2] for r in recs]).reshape(len(recs), len(au_names)))
        counts[name] = len(recs)

    dump('all.txt', records)
    for k, test_subjects in enumerate(folds, start=1):
        test_set = set(test_subjects)
        dump(f'fold{k}_test.txt', [r for r in records if r[0] in test_set])
        dump(f'fold{k}_train.txt', [r for r in records if r[0] not in test_set])
    with open(osp.join(out_dir, 'folds.json'), 'w') as f:
        json.dump({'folds': folds, 'counts': counts}, f, indent=1)
    return dict(folds=folds, counts=counts)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='BP4D AUCoding CSVs -> mmfer AU lists')
    p.add_argument('label_root', help='AUCoding folder with <subject>_<task>.csv files')
    p.add_argument('out_dir', help='output folder for the list files')
    p.add_argument('--img-root', help='image root; frames without image are skipped')
    p.add_argument('--img-pattern', default='{subject}/{task}/{frame}.jpg')
    p.add_argument('--aus', type=int, nargs='+', help='AU numbers to keep (default all)')
    p.add_argument('--folds', type=int, default=3)
    return p.parse_args(argv)


def _au_number(col, path):
    m = re.fullmatch(r'(?:AU)?\s*(\d+)', col.strip(), re.IGNORECASE)
    if not m:
        raise ValueError(f'{path}: header column {col!r} is not an AU number')
    return int(m.group(1))


def read_csv_labels(path, aus=None):
    """Read one AU occurrence CSV (``Frame,<AU>,...``) -> (AU numbers, [(frame, row)])."""
    with open(path, newline='') as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError(f'{path}: empty file') from None
        if not header or header[0].strip().lower() != 'frame':
            raise ValueError(f'{path}:1: header must start with "Frame", got {header[:3]}')
        numbers = [_au_number(c, path) for c in header[1:]]
        cols = list(range(len(numbers)))
        if aus is not None:
            missing = [a for a in aus if a not in numbers]
            if missing:
                raise ValueError(f'{path}: AUs {missing} not in header {numbers}')
            cols = [numbers.index(a) for a in aus]
            numbers = list(aus)
        rows = []
        for lineno, rec in enumerate(reader, start=2):
            if not rec or not ''.join(rec).strip():
                continue
            if len(rec) != len(header):
                raise ValueError(f'{path}:{lineno}: {len(rec)} fields, header has '
                                 f'{len(header)}')
            try:
                frame = int(float(rec[0]))
                vals = [int(float(rec[1 + c])) if rec[1 + c].strip() else 9 for c in cols]
            except ValueError:
                raise ValueError(f'{path}:{lineno}: non-numeric value in {rec}') from None
            bad = [v for v in vals if v not in (0, 1, 9, -1)]
            if bad:
                raise ValueError(f'{path}:{lineno}: values {bad} not in 0/1/9')
            rows.append((frame, [v if v in (0, 1) else -1 for v in vals]))
    return numbers, rows


def convert(label_root, out_dir, img_root=None, img_pattern='{subject}/{task}/{frame}.jpg',
            aus=None, num_folds=3):
    if not osp.isdir(label_root):
        raise FileNotFoundError(f'BP4D label folder {label_root} does not exist')
    files = [n for n in sorted(os.listdir(label_root)) if n.lower().endswith('.csv')]
    au_numbers, records, missing_img = None, [], 0
    for name in files:
        m = FILE_RE.match(name)
        if not m:
            raise ValueError(f'{osp.join(label_root, name)}: expected <subject>_<task>.csv')
        numbers, rows = read_csv_labels(osp.join(label_root, name), aus)
        if au_numbers is None:
            au_numbers = numbers
        elif numbers != au_numbers:
            raise ValueError(f'{osp.join(label_root, name)}: AU columns {numbers} differ from '
                             f'the first file\'s {au_numbers}; pass --aus to select common AUs')
        subject, task = m.group('subject'), m.group('task')
        for frame, row in rows:
            img = img_pattern.format(subject=subject, task=task, frame=frame)
            if img_root is not None and not osp.isfile(osp.join(img_root, img)):
                missing_img += 1
                continue
            records.append((subject, img, np.asarray(row, dtype=np.int8)))
    if au_numbers is None:
        raise ValueError(f'{label_root}: no <subject>_<task>.csv files')
    names = [f'AU{a}' for a in au_numbers]
    info = write_au_splits(out_dir, names, records, num_folds)
    info.update(aus=names, missing_images=missing_img, files=len(files))
    return info


def main(argv=None):
    args = parse_args(argv)
    info = convert(args.label_root, args.out_dir, args.img_root, args.img_pattern, args.aus,
                   args.folds)
    print(f'BP4D: {info["files"]} label files, {info["counts"]["all.txt"]} frames, AUs '
          f'{" ".join(info["aus"])}; {info["missing_images"]} frames skipped for a missing '
          'image')
    for k, f in enumerate(info['folds'], start=1):
        print(f'  fold{k}: test subjects {" ".join(f)}')
    print(f'lists written to {args.out_dir}')


if __name__ == '__main__':
    main()
