# Copyright (c) mmfer contributors. All rights reserved.
"""Write synthetic faces to disk in the on-disk formats of the real face datasets.

Examples::

    python tools/misc/make_synthetic_faces.py data/synthetic --format all --num 500
    python tools/misc/make_synthetic_faces.py data/rafdb_syn --format rafdb --num 2000 \\
        --image-size 100 --seed 1

``--num`` is the number of images of one format (RAF-DB/AffectNet: 80 % train, 20 % test/
validation; FEC: ``num // 3`` triplets of three images, 80 % train; video formats: rounded up
to whole videos). With ``--format all`` each format goes to ``OUT_ROOT/<format>`` (``folder``
to ``OUT_ROOT/synthetic_faces``, ``ms1m`` to ``OUT_ROOT/faces_emore``), so
``make_synthetic_faces.py data --format all`` puts every layout where the configs read it. See
:mod:`mmfer.datasets.synthetic.writers` for the layouts; ``voxceleb`` is written as the
SSL-FER configs read it (``OUT_ROOT/frames/<identity>/<video>/<frame>.jpg`` and
``OUT_ROOT/landmarks.npz``).

RAF-DB's train (k-NN bank) and test splits have disjoint people unless
``--identity-split shared`` (the earlier layout). A non-empty output folder is refused unless
``--overwrite``; each format is written to ``<folder>.partial`` and renamed when complete, so
an interrupted run leaves no half-written dataset.
"""
import argparse
import json
import math
import os.path as osp
import sys
import time

FORMATS = ('folder', 'rafdb', 'affectnet', 'fer2013', 'affwild2', 'voxceleb', 'fec', 'ms1m',
           'bp4d', 'disfa', 'gft', 'lfw')
DEFAULT_SIZE = dict(rafdb=100, fer2013=48, lfw=250)
#: ``--format all`` folder of each format: the ``data/<folder>`` the configs read.
ALL_DIRS = dict(folder='synthetic_faces', ms1m='faces_emore')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('out_root', help='output folder')
    p.add_argument('--format', default='folder', choices=FORMATS + ('all', ))
    p.add_argument('--num', type=int, default=200, help='images per format')
    p.add_argument('--image-size', type=int, default=None,
                   help='image side in pixels (default: 100 for rafdb, 250 for lfw, 112 '
                   'otherwise; fer2013 is always 48)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--num-identities', type=int, default=None,
                   help='people (default: max(1, num // 10) for stills, at least 2 for '
                   'rafdb; lfw: num // 4; AU formats: 3 subjects; voxceleb: enough for 2 '
                   'videos each)')
    p.add_argument('--frames-per-video', type=int, default=None,
                   help='frames per video (default: affwild2 splits --num over >= 3 videos of '
                   '<= 60 frames; voxceleb 10; AU formats split --num over the subjects)')
    p.add_argument('--identity-split', default='disjoint', choices=('disjoint', 'shared'),
                   help='rafdb: train (bank) and test people disjoint (default) or shared '
                   '(the earlier layout: every test person also in train)')
    p.add_argument('--overwrite', action='store_true',
                   help='replace the contents of a non-empty output folder')
    p.add_argument('--no-progress', action='store_true')
    args = p.parse_args(argv)
    if args.num < 1:
        p.error(f'--num must be >= 1, got {args.num}')
    if args.image_size is not None and args.image_size < 16:
        p.error(f'--image-size must be >= 16, got {args.image_size}')
    for name in ('num_identities', 'frames_per_video'):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1, got {getattr(args, name)}')
    return args


def _split(num: int) -> tuple:
    n_train = max(1, int(round(0.8 * num))) if num > 1 else num
    return n_train, num - n_train


def write_format(fmt: str, root: str, args) -> dict:
    """Map the command-line sizes to the writer of ``fmt`` and run it into ``root``."""
    from mmfer.datasets.synthetic import writers as W
    num, seed, prog = args.num, args.seed, not args.no_progress
    ids = args.num_identities or max(1, num // 10)
    size = args.image_size or DEFAULT_SIZE.get(fmt, 112)
    fpv = args.frames_per_video
    if fmt == 'folder':
        return W.write_face_folder(root, num, size, seed, ids, progress=prog)
    if fmt == 'rafdb':
        n_train, n_test = _split(num)
        if args.num_identities is None and args.identity_split == 'disjoint':
            ids = max(2, ids)                 # one person per split at least
        return W.write_rafdb(root, n_train, n_test, size, seed, ids, progress=prog,
                             identity_split=args.identity_split)
    if fmt == 'affectnet':
        n_train, n_val = _split(num)
        return W.write_affectnet(root, n_train, n_val, size, seed, ids, progress=prog)
    if fmt == 'fer2013':
        if args.image_size not in (None, 48):
            print(f'fer2013 images are 48x48; ignoring --image-size {args.image_size}')
        return W.write_fer2013(root, num, seed, ids, progress=prog)
    if fmt == 'affwild2':
        # at least 3 videos: one validation video and the _left/_right pair
        if fpv:
            n_vid = max(3, math.ceil(num / fpv))
        else:
            n_vid = max(3, math.ceil(num / 60))
            fpv = math.ceil(num / n_vid)
        return W.write_affwild2(root, n_vid, fpv, size, seed, progress=prog)
    if fmt == 'voxceleb':
        fpv = fpv or 10
        n_ids = args.num_identities or max(1, math.ceil(num / (2 * fpv)))
        vids = max(1, math.ceil(num / (n_ids * fpv)))
        # frames/ + landmarks.npz keyed frames/...: what the SSL-FER configs read
        return W.write_voxceleb(root, n_ids, vids, fpv, size, seed, progress=prog,
                                frames_dir='frames')
    if fmt == 'fec':
        n_train, n_test = _split(max(1, num // 3))
        return W.write_fec(root, n_train, n_test, size, seed, ids, progress=prog)
    if fmt == 'ms1m':
        return W.write_ms1m(root, num, size, seed, min(ids, num), progress=prog)
    if fmt == 'lfw':
        # 2 pair folds (1 for few people); enough faces for a same-person pair per fold
        n_people = args.num_identities or max(2, num // 4)
        folds = 2 if n_people >= 6 else 1
        return W.write_lfw(root, max(num, n_people + 2 * folds), size, seed, n_people,
                           num_folds=folds, progress=prog)
    if fmt in ('bp4d', 'disfa', 'gft'):
        # >= 3 subjects: the converters make 3 subject-wise folds
        subjects = args.num_identities or 3
        if fmt == 'bp4d':
            fpv = fpv or max(1, math.ceil(num / (2 * subjects)))
            return W.write_bp4d(root, subjects, 2, fpv, size, seed, progress=prog)
        fpv = fpv or max(1, math.ceil(num / subjects))
        writer = W.write_disfa if fmt == 'disfa' else W.write_gft
        return writer(root, subjects, fpv, size, seed, progress=prog)
    raise ValueError(f'unknown format {fmt!r}; expected one of {FORMATS}')


def _renamed(obj, old: str, new: str):
    """``obj`` with every string path under ``old`` moved under ``new`` (for the summary)."""
    if isinstance(obj, str):
        return new + obj[len(old):] if obj.startswith(old) else obj
    if isinstance(obj, dict):
        return {k: _renamed(v, old, new) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_renamed(v, old, new) for v in obj)
    return obj


def main(argv=None) -> int:
    from mmfer.datasets.synthetic import check_out_root, fresh_out_root
    args = parse_args(argv)
    formats = FORMATS if args.format == 'all' else (args.format, )
    roots = {f: osp.join(args.out_root, ALL_DIRS.get(f, f)) if args.format == 'all'
             else args.out_root for f in formats}
    try:
        for root in roots.values():           # refuse before writing anything
            check_out_root(root, args.overwrite)
    except FileExistsError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    for fmt, root in roots.items():
        t0 = time.perf_counter()
        with fresh_out_root(root, args.overwrite) as tmp:
            summary = write_format(fmt, tmp, args)
        summary = _renamed(summary, tmp, root)
        print(f'[{fmt}] wrote {root} in {time.perf_counter() - t0:.1f} s', flush=True)
        print(json.dumps(summary, indent=1, default=str)[:2000], flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
