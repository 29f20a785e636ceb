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

from mmfer.datasets.au_converters import convert_bp4d


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='BP4D AUCoding CSVs -> mmfer AU lists')
    p.add_argument('label_root', help='AUCoding folder with <subject>_<task>.csv files')
    p.add_argument('out_dir', help='output folder for the list files')
    p.add_argument('--img-root', help='image root; frames without image are skipped')
    p.add_argument('--img-pattern', default='{subject}/{task}/{frame}.jpg')
    p.add_argument('--aus', type=int, nargs='+', help='AU numbers to keep (default all)')
    p.add_argument('--folds', type=int, default=3)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    info = convert_bp4d(args.label_root, args.out_dir, args.img_root, args.img_pattern,
                        args.aus, args.folds)
    print(f'BP4D: {info["files"]} label files, {info["counts"]["all.txt"]} frames, AUs '
          f'{" ".join(info["aus"])}; {info["missing_images"]} frames skipped for a missing '
          'image')
    for k, f in enumerate(info['folds'], start=1):
        print(f'  fold{k}: test subjects {" ".join(f)}')
    print(f'lists written to {args.out_dir}')


if __name__ == '__main__':
    main()
