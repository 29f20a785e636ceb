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

from mmfer.datasets.au_converters import convert_disfa


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


def main(argv=None):
    args = parse_args(argv)
    info = convert_disfa(args.label_root, args.out_dir, args.img_root, args.img_pattern,
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
