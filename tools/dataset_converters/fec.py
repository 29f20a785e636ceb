#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Convert the official FEC (Google Facial Expression Comparison) CSV to mmfer's FEC format.

Official CSV rows (no header)::

    url1, x1_left, x1_right, y1_top, y1_bottom,   # face box of image 1, fractions of W / H
    url2, ..., url3, ...,                         # same for images 2 and 3
    triplet_type,                                 # {ONE,TWO,THREE}_CLASS_TRIPLET
    annotator_id, annotation, annotator_id, annotation, ...   # annotation in {1, 2, 3}:
                                                  # the image most different from the others

Images must have been downloaded to IMAGE_DIR beforehand (this tool never downloads); by
default the local name of a URL is its last path component (``--name-from basename``) or
the SHA-1 of the URL plus its extension (``--name-from sha1``).

For every triplet the annotations are majority-voted (ties are skipped and counted;
``--min-agreement`` skips weak majorities), each face is cropped from its box (optionally
enlarged by ``--margin``) and resized to ``--size``, and one line is written to
``OUT_ROOT/annotations/<split>.csv`` (see :mod:`mmfer.datasets.fec`). Triplets with a
missing or unreadable image, or an empty box, are skipped and counted; the counts are
printed and saved to ``OUT_ROOT/annotations/<split>_summary.json``. Existing crops are
reused, so an interrupted conversion resumes.

Usage::

    python tools/dataset_converters/fec.py faceexp-comparison-data-test-public.csv \\
        data/fec_raw/images data/fec --split test
"""
import argparse
import csv
import hashlib
import json
import os
import os.path as osp
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlparse

import cv2
import numpy as np

TRIPLET_TYPES = ('ONE_CLASS_TRIPLET', 'TWO_CLASS_TRIPLET', 'THREE_CLASS_TRIPLET')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Convert the official FEC CSV to mmfer format')
    p.add_argument('csv', help='official FEC csv (train or test)')
    p.add_argument('image_dir', help='folder with the downloaded images')
    p.add_argument('out_root', help='output dataset root (annotations/ and images/)')
    p.add_argument('--split', choices=['train', 'test'], required=True)
    p.add_argument('--name-from', choices=['basename', 'sha1'], default='basename',
                   help='how a URL maps to a file name in image_dir')
    p.add_argument('--size', type=int, default=224, help='side of the saved face crops')
    p.add_argument('--margin', type=float, default=0.0,
                   help='enlarge each box by this fraction on every side')
    p.add_argument('--min-agreement', type=float, default=0.0,
                   help='skip triplets whose majority share is below this (0-1)')
    p.add_argument('--no-progress', action='store_true')
    return p.parse_args(argv)


def url_to_name(url: str, how: str = 'basename') -> str:
    path = urlparse(url.strip()).path
    if how == 'basename':
        name = osp.basename(path)
        if not name:
            raise ValueError(f'URL {url!r} has no file name')
        return name
    ext = osp.splitext(path)[1] or '.jpg'
    return hashlib.sha1(url.strip().encode()).hexdigest() + ext


def majority_vote(annotations: Sequence[int]) -> Tuple[Optional[int], float]:
    """(winning annotation in 1-3 or None on a tie / no votes, share of the winner)."""
    votes = Counter(a for a in annotations if a in (1, 2, 3))
    if not votes:
        return None, 0.0
    (top, n_top), *rest = votes.most_common()
    if rest and rest[0][1] == n_top:
        return None, n_top / sum(votes.values())
    return top, n_top / sum(votes.values())


def parse_row(row: List[str], lineno: int, path: str) -> Dict:
    """One official CSV row -> dict(urls, boxes, triplet_type, annotations)."""
    row = [c.strip() for c in row]
    if len(row) < 16 or (len(row) - 16) % 2:
        raise ValueError(f'{path}:{lineno}: expected 16 + 2k columns (3 x (url + 4 box '
                         f'values), triplet type, annotator/annotation pairs), got {len(row)}')
    urls, boxes = [], []
    for j in range(3):
        urls.append(row[5 * j])
        try:
            boxes.append(tuple(float(v) for v in row[5 * j + 1:5 * j + 5]))
        except ValueError:
            raise ValueError(f'{path}:{lineno}: face box of image {j + 1} is not numeric: '
                             f'{row[5 * j + 1:5 * j + 5]}') from None
    ttype = row[15].upper()
    if ttype not in TRIPLET_TYPES:
        raise ValueError(f'{path}:{lineno}: unknown triplet type {row[15]!r}')
    try:
        annotations = [int(v) for v in row[17::2]]
    except ValueError:
        raise ValueError(f'{path}:{lineno}: annotations must be integers 1-3') from None
    return dict(urls=urls, boxes=boxes, triplet_type=ttype, annotations=annotations)


def crop_face(img: np.ndarray, box: Sequence[float], margin: float, size: int
              ) -> Optional[np.ndarray]:
    """Crop the normalised (left, right, top, bottom) box; None if it is empty."""
    h, w = img.shape[:2]
    left, right, top, bottom = box
    bw, bh = (right - left) * margin, (bottom - top) * margin
    x1, x2 = int(round(max(0.0, left - bw) * w)), int(round(min(1.0, right + bw) * w))
    y1, y2 = int(round(max(0.0, top - bh) * h)), int(round(min(1.0, bottom + bh) * h))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return cv2.resize(img[y1:y2, x1:x2], (size, size), interpolation=cv2.INTER_AREA)


def convert(args) -> Dict:
    img_out = osp.join(args.out_root, 'images')
    ann_out = osp.join(args.out_root, 'annotations')
    os.makedirs(img_out, exist_ok=True)
    os.makedirs(ann_out, exist_ok=True)
    with open(args.csv, newline='') as f:
        rows = [(i, r) for i, r in enumerate(csv.reader(f), 1) if r and any(c.strip() for c in r)]
    skipped, kept = Counter(), []
    crops: Dict[Tuple[str, Tuple[float, ...]], Optional[str]] = {}
    bar = None
    if not args.no_progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(rows))
    for lineno, row in rows:
        if bar is not None:
            bar.update()
        info = parse_row(row, lineno, args.csv)
        odd, share = majority_vote(info['annotations'])
        if odd is None:
            skipped['no majority (tie or no votes)'] += 1
            continue
        if share < args.min_agreement:
            skipped[f'agreement < {args.min_agreement}'] += 1
            continue
        names, reason = [], None
        for url, box in zip(info['urls'], info['boxes']):
            name = url_to_name(url, args.name_from)
            key = (name, box)
            if key not in crops:
                crops[key] = None
                src = osp.join(args.image_dir, name)
                out_name = f'{osp.splitext(name)[0]}_' \
                    f'{hashlib.sha1(repr(box).encode()).hexdigest()[:8]}.jpg'
                if osp.isfile(osp.join(img_out, out_name)):
                    crops[key] = out_name
                elif not osp.isfile(src):
                    crops[key] = 'missing image'
                else:
                    img = cv2.imread(src)
                    if img is None:
                        crops[key] = 'unreadable image'
                    else:
                        face = crop_face(img, box, args.margin, args.size)
                        if face is None:
                            crops[key] = 'empty face box'
                        else:
                            tmp = osp.join(img_out, '.tmp_' + out_name)
                            cv2.imwrite(tmp, face)
                            os.replace(tmp, osp.join(img_out, out_name))
                            crops[key] = out_name
            if not crops[key].endswith('.jpg'):
                reason = crops[key]
                break
            names.append(crops[key])
        if reason is not None:
            skipped[reason] += 1
            continue
        kept.append(names + [str(odd), info['triplet_type'], f'{share:.4f}'])
    out_csv = osp.join(ann_out, f'{args.split}.csv')
    with open(out_csv + '.tmp', 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['image1', 'image2', 'image3', 'odd_one_out', 'triplet_type', 'agreement'])
        w.writerows(kept)
    os.replace(out_csv + '.tmp', out_csv)
    summary = dict(rows=len(rows), kept=len(kept), skipped=dict(skipped),
                   images=sum(1 for v in crops.values() if v and v.endswith('.jpg')))
    with open(osp.join(ann_out, f'{args.split}_summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print(f'\nFEC {args.split}: {len(rows)} triplets, kept {len(kept)}, skipped '
          f'{sum(skipped.values())} ' + (f'({dict(skipped)})' if skipped else '') +
          f' -> {out_csv}')
    return summary


def main(argv=None):
    return convert(parse_args(argv))


if __name__ == '__main__':
    main()
