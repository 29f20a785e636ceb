#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Convert DISFA's released AU labels into mmfer AU lists with subject-wise 3-fold splits.

DISFA release layout (``ActionUnit_Labels``)::

    ActionUnit_Labels/SN001/SN001_au1.txt    # one file per subject and AU
    ActionUnit_Labels/SN001/SN001_au2.txt    # lines "frame,intensity", intensity 0..5
    ...

A frame is positive for an AU when its intensity is > 1 (i.e. >= 2, the rule used by
EmoCo and most DISFA AU-detection papers; ``--threshold``), negative otherwise. Frames missing
from some AU file of a subject are written as unknown (9) and counted.

Images are expected at ``--img-pattern`` relative to the image root (default
``{subject}/{frame:05d}.jpg``, ``frame`` as in the label file); with ``--img-root`` every image
is checked and frames without an image are skipped and counted.

Output (``OUT``): ``all.txt``, ``fold{1,2,3}_{train,test}.txt`` (subject-wise), ``folds.json``.

Example::

    python tools/dataset_converters/disfa.py data/DISFA/ActionUnit_Labels data/DISFA/lists \\
        --img-root data/DISFA/aligned
"""
import argparse
import os
import os.path as osp
import re
import sys
from collections import defaultdict

import numpy as np

# numpy-only helpers shared by the AU converters (no torch/mmfer import: fast start)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from bp4d import write_au_splits  # noqa: E402

FILE_RE = re.compile(r'^(?P<subject>.+)_au(?P<au>\d+)\.txt$', re.IGNORECASE)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='DISFA AU labels -> mmfer AU lists')
    p.add_argument('label_root', help='ActionUnit_Labels folder (one sub-folder per subject)')
    p.add_argument('out_dir', help='output folder for the list files')
    p.add_argument('--img-root', help='image root; when given, frames without image are '
                   'skipped (counted)')
    p.add_argument('--img-pattern', default='{subject}/{frame:05d}.jpg',
                   help='image path of a frame relative to the image root')
    p.add_argument('--threshold', type=float, default=1.0,
                   help='positive when intensity > threshold (default 1)')
    p.add_argument('--folds', type=int, default=3, help='number of subject-wise folds')
    return p.parse_args(argv)


def read_disfa(label_root, threshold=1.0):
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
            m = FILE_RE.match(name)
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


def convert(label_root, out_dir, img_root=None, img_pattern='{subject}/{frame:05d}.jpg',
            threshold=1.0, num_folds=3):
    labels, aus = read_disfa(label_root, threshold)
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


def main(argv=None):
    args = parse_args(argv)
    info = convert(args.label_root, args.out_dir, args.img_root, args.img_pattern,
                   args.threshold, args.folds)
    print(f'DISFA: {info["counts"]["all.txt"]} frames, AUs {" ".join(info["aus"])}; '
          f'{info["missing_labels"]} (frame, AU) labels missing -> unknown (9); '
          f'{info["missing_images"]} frames skipped for a missing image')
    for k, f in enumerate(info['folds'], start=1):
        print(f'  fold{k}: test subjects {" ".join(f)} '
              f'({info["counts"][f"fold{k}_test.txt"]} test / '
              f'{info["counts"][f"fold{k}_train.txt"]} train frames)')
    print(f'lists written to {args.out_dir}')


if __name__ == '__main__':
    main()
