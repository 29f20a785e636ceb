#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Convert GFT (Sayette Group Formation Task) AU occurrence labels into mmfer AU lists.

GFT's label files are distributed on request; this converter assumes the layout below
(the common one after unpacking; adapt ``--subject-regex`` / ``--img-pattern`` otherwise)::

    <label_root>/<video>.csv   # one file per participant video, e.g. 001A.csv (group 001,
                               # participant A) -- the subject is the whole stem by default
    header: "Frame,AU1,AU2,AU4,..."  (or "Frame,1,2,4,...")
    rows:   "<frame>,0,1,9,..."       1 present, 0 absent, 9 / -1 / empty = unknown (masked)

Two protocols:

- subject-wise folds (``all.txt``, ``fold{k}_{train,test}.txt``, ``folds.json``): subjects are
  the first group of ``--subject-regex`` applied to the file stem (default ``^(.+)$``: the
  participant video; use ``^(\\d+)`` to keep whole groups together);
- the official train/test partition of the GFT release (EmoCo §IV.A.2: "about 108000 facial
  images for training and 24600 images for valuation"), with ``--official-split FILE``: one
  line ``<video> train`` or ``<video> test`` per label file stem, as distributed with the
  data; writes ``official_train.txt``, ``official_test.txt`` and ``official_split.json``
  (frame counts, and the videos the split file does not list, whose frames go to neither).

Images at ``--img-pattern`` (default ``{video}/{frame:05d}.jpg``); with ``--img-root`` missing
images are skipped and counted.

Example::

    python tools/dataset_converters/gft.py data/gft/AU_labels data/gft/lists \\
        --img-root data/gft/aligned --official-split data/gft/official_split.txt
"""
import argparse

from mmfer.datasets.au_converters import convert_gft


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
    p.add_argument('--official-split', metavar='FILE',
                   help='official partition, lines "<video> train|test"; also writes '
                   'official_{train,test}.txt')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    info = convert_gft(args.label_root, args.out_dir, args.img_root, args.img_pattern,
                         args.subject_regex, args.aus, args.folds, args.official_split)
    print(f'GFT: {info["files"]} label files, {info["counts"]["all.txt"]} frames, AUs '
          f'{" ".join(info["aus"])}; {info["missing_images"]} frames skipped for a missing '
          'image')
    for k, f in enumerate(info['folds'], start=1):
        print(f'  fold{k}: test subjects {" ".join(f)}')
    if 'official' in info:
        off = info['official']
        print(f'  official split: {off["counts"]["official_train.txt"]} train / '
              f'{off["counts"]["official_test.txt"]} test frames (EmoCo quotes about 108000 / '
              f'24600); {len(off["unlisted"])} videos not in the split file, left out: '
              f'{" ".join(off["unlisted"][:10])}')
    print(f'lists written to {args.out_dir}')


if __name__ == '__main__':
    main()
