# Copyright (c) mmfer contributors. All rights reserved.
"""Readers of the released AU labels of BP4D, DISFA and GFT, writing mmfer AU lists.

The ``tools/dataset_converters/{bp4d,disfa,gft}.py`` command lines call these; each returns a
summary dict (frames, AUs, folds, what was skipped and why) that the tool prints.
"""
import csv
import os
import os.path as osp
import re
from collections import defaultdict
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .au_list import read_split_file, write_au_splits, write_official_split

#: BP4D label files: ``<subject>_<task>.csv``
BP4D_FILE_RE = re.compile(r'^(?P<subject>[^_]+)_(?P<task>[^_.]+)\.csv$', re.IGNORECASE)
#: DISFA label files: ``<subject>/<subject>_au<N>.txt``
DISFA_FILE_RE = re.compile(r'^(?P<subject>.+)_au(?P<au>\d+)\.txt$', re.IGNORECASE)
#: the 12 BP4D AUs of EmoCo's Table III (and JAA-Net's protocol)
EMOCO_BP4D_AUS = (1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24)


def _au_number(col: str, path: str) -> int:
    m = re.fullmatch(r'(?:AU)?\s*(\d+)', col.strip(), re.IGNORECASE)
    if not m:
        raise ValueError(f'{path}: header column {col!r} is not an AU number')
    return int(m.group(1))


def read_au_occurrence_csv(path: str, aus: Optional[Sequence[int]] = None
                           ) -> Tuple[List[int], List[Tuple[int, List[int]]]]:
    """Read one AU occurrence CSV (``Frame,<AU>,...``, as BP4D's and GFT's releases).

    Columns may be named ``1`` or ``AU1``; values 1 present, 0 absent, 9 / -1 / empty unknown.

    Args:
        path (str): The CSV file.
        aus (Sequence[int], optional): AU numbers to keep, in this order; default all.

    Returns:
        tuple: ``(AU numbers, [(frame, [1 / 0 / -1 per AU]), ...])``.

    Raises:
        ValueError: the message names the file and line at fault.
    """
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


def convert_bp4d(label_root, out_dir, img_root=None, img_pattern='{subject}/{task}/{frame}.jpg',
            aus=None, num_folds=3):
    """BP4D ``AUCoding/<subject>_<task>.csv`` files -> ``all.txt`` + subject-wise folds."""
    if not osp.isdir(label_root):
        raise FileNotFoundError(f'BP4D label folder {label_root} does not exist')
    files = [n for n in sorted(os.listdir(label_root)) if n.lower().endswith('.csv')]
    au_numbers, records, missing_img = None, [], 0
    for name in files:
        m = BP4D_FILE_RE.match(name)
        if not m:
            raise ValueError(f'{osp.join(label_root, name)}: expected <subject>_<task>.csv')
        numbers, rows = read_au_occurrence_csv(osp.join(label_root, name), aus)
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


def read_disfa_labels(label_root, threshold=1.0):
    """Returns ``{subject: {au_name: {frame: 0/1}}}`` and the sorted AU names."""
    if not osp.isdir(label_root):
        raise FileNotFoundError(f'DISFA label folder {label_root} does not exist')
    labels = defaultdict(dict)
    aus = set()
    for subject in sorted(os.listdir(label_root)):
        sdir = osp.join(label_root, subject)
        if not osp.isdir(sdir):
            continue
        for name in sorted(os.listdir(sdir)):
            m = DISFA_FILE_RE.match(name)
            if not m:
                continue
            if m.group('subject') != subject:
                raise ValueError(f'{osp.join(sdir, name)}: file of subject '
                                 f'{m.group("subject")} inside folder {subject}')
            au = f'AU{int(m.group("au"))}'
            frames = {}
            with open(osp.join(sdir, name)) as f:
                for lineno, line in enumerate(f, start=1):
                    line = line.strip()
                    if not line:
                        continue
                    parts = line.split(',')
                    try:
                        frame, inten = int(parts[0]), float(parts[1])
                    except (ValueError, IndexError):
                        raise ValueError(f'{osp.join(sdir, name)}:{lineno}: expected '
                                         f'"frame,intensity", got {line!r}') from None
                    if not 0 <= inten <= 5:
                        raise ValueError(f'{osp.join(sdir, name)}:{lineno}: intensity '
                                         f'{inten} outside 0..5')
                    if frame in frames:
                        raise ValueError(f'{osp.join(sdir, name)}:{lineno}: frame {frame} '
                                         'listed twice')
                    frames[frame] = 1 if inten > threshold else 0
            labels[subject][au] = frames
            aus.add(au)
    if not labels:
        raise ValueError(f'{label_root}: no <subject>/<subject>_au<N>.txt files found')
    return dict(labels), sorted(aus, key=lambda a: int(a[2:]))


def convert_disfa(label_root, out_dir, img_root=None, img_pattern='{subject}/{frame:05d}.jpg',
            threshold=1.0, num_folds=3):
    """DISFA ``<subject>/<subject>_au<N>.txt`` intensities -> ``all.txt`` + subject-wise folds
    (present when intensity > ``threshold``; frames missing from an AU file: unknown)."""
    labels, aus = read_disfa_labels(label_root, threshold)
    records, missing_label, missing_img = [], 0, 0
    for subject in sorted(labels):
        frames = sorted(set().union(*[set(v) for v in labels[subject].values()]))
        for frame in frames:
            row = []
            for au in aus:
                v = labels[subject].get(au, {}).get(frame)
                if v is None:
                    missing_label += 1
                    v = -1
                row.append(v)
            img = img_pattern.format(subject=subject, frame=frame)
            if img_root is not None and not osp.isfile(osp.join(img_root, img)):
                missing_img += 1
                continue
            records.append((subject, img, np.asarray(row, dtype=np.int8)))
    info = write_au_splits(out_dir, aus, records, num_folds)
    info.update(aus=aus, missing_labels=missing_label, missing_images=missing_img)
    return info


def convert_gft(label_root, out_dir, img_root=None, img_pattern='{video}/{frame:05d}.jpg',
            subject_regex=r'^(.+)$', aus=None, num_folds=3, official_split=None):
    """GFT ``<video>.csv`` files -> ``all.txt`` + subject-wise folds, and with
    ``official_split`` (a :func:`read_split_file` file) ``official_{train,test}.txt``."""
    if not osp.isdir(label_root):
        raise FileNotFoundError(f'GFT label folder {label_root} does not exist')
    files = [n for n in sorted(os.listdir(label_root)) if n.lower().endswith('.csv')]
    if not files:
        raise ValueError(f'{label_root}: no <video>.csv files')
    split = read_split_file(official_split) if official_split else None
    regex = re.compile(subject_regex)
    au_numbers, records, missing_img = None, [], 0
    for name in files:
        path = osp.join(label_root, name)
        video = osp.splitext(name)[0]
        m = regex.match(video)
        if not m:
            raise ValueError(f'{path}: file stem {video!r} does not match --subject-regex '
                             f'{subject_regex!r}')
        numbers, rows = read_au_occurrence_csv(path, aus)
        if au_numbers is None:
            au_numbers = numbers
        elif numbers != au_numbers:
            raise ValueError(f'{path}: AU columns {numbers} differ from the first file\'s '
                             f'{au_numbers}; pass --aus to select common AUs')
        for frame, row in rows:
            img = img_pattern.format(video=video, subject=m.group(1), frame=frame)
            if img_root is not None and not osp.isfile(osp.join(img_root, img)):
                missing_img += 1
                continue
            records.append((video, (m.group(1), img, np.asarray(row, dtype=np.int8))))
    names = [f'AU{a}' for a in au_numbers]
    info = write_au_splits(out_dir, names, [r for _, r in records], num_folds)
    info.update(aus=names, missing_images=missing_img, files=len(files))
    if split is not None:
        unknown = sorted(set(split) - {v for v, _ in records})
        if unknown:
            raise ValueError(f'{official_split}: videos {unknown[:5]} have no label file (or no '
                             f'frame with an image) in {label_root}')
        info['official'] = write_official_split(out_dir, names, records, split)
    return info
