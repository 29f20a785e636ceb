#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Convert Kaggle's ``fer2013.csv`` into the image folder the ``FER2013`` dataset reads.

Every row is validated first (errors name ``fer2013.csv:<line>``), then written as
``<img-dir>/<Usage>/<row:05d>.png`` (row = 1-based data row) with ``manifest.json`` holding
the CSV's sha256: the dataset refuses to load when the CSV changed since (re-run this tool
after editing the CSV). A re-run replaces the whole folder.

Example::

    python tools/dataset_converters/fer2013.py data/fer2013/fer2013.csv
    # -> data/fer2013/fer2013_images/{manifest.json,Training,PublicTest,PrivateTest}
"""
import argparse
import sys

from mmfer.datasets.fer2013 import convert_fer2013


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='fer2013.csv -> PNG images + manifest')
    p.add_argument('csv', help='fer2013.csv (header emotion,pixels,Usage)')
    p.add_argument('--img-dir', help='output folder (default: fer2013_images next to the CSV, '
                   "the FER2013 dataset's default img_dir)")
    p.add_argument('--no-progress', action='store_true')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    manifest = convert_fer2013(args.csv, args.img_dir, progress=not args.no_progress)
    counts = ', '.join(f'{n} {u}' for u, n in sorted(manifest['usage'].items()))
    print(f'wrote {manifest["rows"]} images ({counts}) and manifest.json to '
          f'{manifest["img_dir"]}', flush=True)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (ValueError, FileNotFoundError, OSError) as e:
        sys.exit(f'tools/dataset_converters/fer2013.py: error: {e}')
