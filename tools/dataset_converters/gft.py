#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Convert GFT (Sayette Group Formation Task) AU occurrence labels into mmfer AU lists.

GFT's label files are distributed on request; this converter assumes the layout below
(the common one after unpacking; adapt ``--subject-regex`` / ``--img-pattern`` otherwise)::

    <label_root>/<video>.csv   # one file per participant video, e.g. 001A.csv (group 001,
                               # participant A) -- the subject is the whole stem by default
    header: "Frame,AU1,AU2,AU4,..."  (or "Frame,1,2,4,...")
    rows:   "<frame>,0,1,9,..."       1 present, 0 absent, 9 / -1 / empty = unknown (masked)

Subjects for the subject-wise folds are the first group of ``--subject-regex`` applied to the
file stem (default ``^(.+)$``: the participant video; use ``^(\\d+)`` to keep whole groups
together). Images at ``--img-pattern`` (default ``{video}/{frame:05d}.jpg``); with
``--img-root`` missing images are skipped and counted.

Example::

    python tools/dataset_converters/gft.py data/GFT/AU_labels data/GFT/lists \\
        --img-root data/GFT/aligned
"""
import argparse
import os
import os.path as osp
import re
import sys

import numpy as np

# numpy-only helpers shared by the AU converters (no torch/mmfer import: fast start)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from bp4d import read_csv_labels, write_au_splits  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='GFT AU CSVs -> mmfer AU lists')
    p.add_argument('label_root', help='folder with one <video>.csv per participant video')
    p.add_argument('out_dir', help='output folder for the list files')
    p.add_argument('--img-root', help='image root; frames without image are skipped')
    p.add_argument('--img-pattern', default='{video}/{frame:05d}.jpg')
    p.add_argument('--subject-regex', default=r'^(.+)$',
                   help='regex on the file stem whose group 1 is the subject')
    p.add_argument('--aus', type=int, nargs='+', help='AU numbers to keep (default all)')
    p.add_argument('--folds', type=int, default=3)
    return p.parse_args(argv)


def convert(label_root, out_dir, img_root=None, img_pattern='{video}/{frame:05d}.jpg',
            subject_regex=r'^(.+)$', aus=None, num_folds=3):
    if not osp.isdir(label_root):
        raise FileNotFoundError(f'GFT label folder {label_root} does not exist')
    files = [n for n in sorted(os.listdir(label_root)) if n.lower().endswith('.csv')]
    if not files:
        raise ValueError(f'{label_root}: no <video>.csv files')
    regex = re.compile(subject_regex)
    au_numbers, records, missing_img = None, [], 0
    for name in files:
        path = osp.join(label_root, name)
        video = osp.splitext(name)[0]
        m = regex.match(video)
        if not m:
            raise ValueError(f'{path}: file stem {video!r} does not match --subject-regex '
                             f'{subject_regex!r}')
        numbers, rows = read_csv_labels(path, aus)
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
            records.append((m.group(1), img, np.asarray(row, dtype=np.int8)))
    names = [f'AU{a}' for a in au_numbers]
    info = write_au_splits(out_dir, names, records, num_folds)
    info.update(aus=names, missing_images=missing_img, files=len(files))
    return info


def main(argv=None):
    args = parse_args(argv)
    info = convert(args.label_root, args.out_dir, args.img_root, args.img_pattern,
                   args.subject_regex, args.aus, args.folds)
    print(f'GFT: {info["files"]} label files, {info["counts"]["all.txt"]} frames, AUs '
          f'{" ".join(info["aus"])}; {info["missing_images"]} frames skipped for a missing '
          'image')
    for k, f in enumerate(info['folds'], start=1):
        print(f'  fold{k}: test subjects {" ".join(f)}')
    print(f'lists written to {args.out_dir}')


if __name__ == '__main__':
    main()
