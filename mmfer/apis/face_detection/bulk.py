# Copyright (c) mmfer contributors. All rights reserved.
"""Detect + align whole folders, and extract video frames at a fixed rate (data preparation).

:func:`align_folder` mirrors an image tree into aligned face crops:

- batched (images are decoded and written by a thread pool, detection runs on
  ``batch_size`` images at a time; MTCNN batches same-size images);
- resumable: every written crop is recorded in ``faces.csv`` (flushed per row) and a
  re-run skips images that have a row *and* an output file;
- every image without a crop is counted and listed in ``failures.csv`` with the reason
  (``unreadable``, ``no_face``, ``no_points``, ``write_failed``); failures are retried by a
  re-run, so the file always lists the last run's failures.

:func:`extract_frames` writes a video's frames at ``fps`` (default 25, the rate SSL-FER's
VoxCeleb frames use) as ``00001.jpg ...``; :func:`extract_frames_tree` does it for every video
under a folder (resumable with a ``.frames_done`` marker per video).
"""
import csv
import os
import os.path as osp
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.logging import print_log

from mmfer.datasets.transforms.align_face import align_face, get_face_template
from .base import BaseFaceDetector, build_face_detector

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg')
FACES_CSV = 'faces.csv'
FAILURES_CSV = 'failures.csv'
FRAMES_DONE = '.frames_done'
#: ``faces.csv`` columns: source image, crop, face index, score, box and the 5 points
#: (in the source image; x0 y0 ... x4 y4).
FACES_COLUMNS = (['image', 'crop', 'face', 'score', 'x1', 'y1', 'x2', 'y2'] +
                 [f'{c}{i}' for i in range(5) for c in 'xy'])
FAILURE_REASONS = ('unreadable', 'no_face', 'no_points', 'write_failed')
SELECT_MODES = ('score', 'largest', 'all')


def list_files(root: str, exts: Sequence[str]) -> List[str]:
    """Sorted paths relative to ``root`` of the files with one of ``exts`` (case-insensitive).

    Hidden files and folders (``.name``) are skipped.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'{root} is not a folder')
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
        for name in filenames:
            if not name.startswith('.') and osp.splitext(name)[1].lower() in exts:
                out.append(osp.relpath(osp.join(dirpath, name), root))
    return sorted(out)


# ----------------------------------------------------------------------- video frames
def extract_frames(video: str, out_dir: str, fps: float = 25.0, ext: str = '.jpg',
                   jpeg_quality: int = 95) -> int:
    """Write the frames of ``video`` resampled to ``fps`` as ``out_dir/00001<ext>`` ...

    Output frame k (time k / fps) is the last source frame shown at that time (source frame
    i covers [i / src_fps, (i + 1) / src_fps)): frames are dropped when the source is
    faster, repeated when it is slower, and kept one to one at the same rate.

    Args:
        video (str): A video file OpenCV can decode.
        out_dir (str): Output folder (created).
        fps (float): Output rate. Defaults to 25.
        ext (str): Image extension. Defaults to ``'.jpg'``.
        jpeg_quality (int): JPEG quality. Defaults to 95.

    Returns:
        int: Number of frames written.

    Raises:
        OSError: the video cannot be opened or reports no frame rate.
    """
    if fps <= 0:
        raise ValueError(f'fps must be > 0, got {fps}')
    cap = cv2.VideoCapture(video)
    try:
        if not cap.isOpened():
            raise OSError(f'cannot open video {video} with OpenCV')
        src_fps = float(cap.get(cv2.CAP_PROP_FPS))
        if not np.isfinite(src_fps) or src_fps <= 0:
            raise OSError(f'{video} reports no frame rate ({src_fps}); re-encode it (e.g. '
                          'ffmpeg -i in -r 25 out.mp4)')
        os.makedirs(out_dir, exist_ok=True)
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext.lower() in (
            '.jpg', '.jpeg') else []
        i = k = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            # emit every output time k / fps before the next source frame: k/fps < (i+1)/src
            while k * src_fps < (i + 1) * fps - 1e-9:
                path = osp.join(out_dir, f'{k + 1:05d}{ext}')
                if not cv2.imwrite(path, frame, params):
                    raise OSError(f'cannot write {path}')
                k += 1
            i += 1
    finally:
        cap.release()
    return k


def extract_frames_tree(in_root: str, frames_root: str, fps: float = 25.0,
                        ext: str = '.jpg', progress: bool = True) -> Dict[str, int]:
    """:func:`extract_frames` for every video under ``in_root``; resumable.

    ``in_root/a/clip.mp4`` -> ``frames_root/a/clip/00001.jpg`` ...; a folder holding a
    ``.frames_done`` marker (written last, with the rate) is skipped when the rate matches.

    Returns:
        dict: relative video path -> number of frames (of this run or of the marker).
    """
    from tqdm import tqdm
    counts = {}
    videos = list_files(in_root, VIDEO_EXTS)
    for rel in tqdm(videos, desc='frames', unit='video', disable=not progress):
        out_dir = osp.join(frames_root, osp.splitext(rel)[0])
        marker = osp.join(out_dir, FRAMES_DONE)
        if osp.isfile(marker):
            with open(marker) as f:
                done = f.read().split()
            if len(done) == 2 and float(done[1]) == float(fps):
                counts[rel] = int(done[0])
                continue
        counts[rel] = extract_frames(osp.join(in_root, rel), out_dir, fps=fps, ext=ext)
        with open(marker, 'w') as f:
            f.write(f'{counts[rel]} {fps}\n')
    return counts


# ----------------------------------------------------------------------- alignment
def select_faces(faces, select: str = 'score') -> List[int]:
    """Indices of the faces to keep: the best score, the largest box, or all."""
    if select not in SELECT_MODES:
        raise ValueError(f'select must be one of {SELECT_MODES}, got {select!r}')
    n = len(faces.bboxes)
    if n == 0 or select == 'all':
        return list(range(n))
    if select == 'score':
        return [int(np.argmax(faces.scores))]
    b = faces.bboxes
    return [int(np.argmax((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])))]


def _crop_name(rel: str, face: int, select: str, ext: Optional[str]) -> str:
    stem, src_ext = osp.splitext(rel)
    ext = ext or src_ext
    return f'{stem}_face{face}{ext}' if select == 'all' else f'{stem}{ext}'


def _read_done(faces_csv: str, out_root: str) -> set:
    done = set()
    if not osp.isfile(faces_csv):
        return done
    with open(faces_csv, newline='') as f:
        for row in csv.DictReader(f):
            if osp.isfile(osp.join(out_root, row['crop'])):
                done.add(row['image'])
    return done


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def align_folder(in_root: str, out_root: str,
                 detector: Union[BaseFaceDetector, dict, str] = 'dlib',
                 template: Union[str, dict] = 'arcface_112',
                 output_size: Optional[Union[int, Sequence[int]]] = None,
                 select: str = 'score', batch_size: int = 16, num_workers: int = 2,
                 resume: bool = True, ext: Optional[str] = None,
                 progress: bool = True) -> Dict[str, int]:
    """Detect and align the faces of every image under ``in_root`` into ``out_root``.

    Args:
        in_root (str): Image tree.
        out_root (str): Output tree (same relative paths; ``_face<k>`` suffixes with
            ``select='all'``), plus ``faces.csv`` and ``failures.csv``.
        detector (BaseFaceDetector | dict | str): See :func:`build_face_detector`.
        template, output_size: See :func:`~mmfer.datasets.transforms.get_face_template`.
        select (str): ``'score'`` (the best-scoring face, default), ``'largest'`` (the
            largest box, e.g. for VoxCeleb's one-speaker frames) or ``'all'``.
        batch_size (int): Images per detection batch. Defaults to 16.
        num_workers (int): Threads decoding and writing images. Defaults to 2.
        resume (bool): Skip images already in ``faces.csv`` whose crop exists.
        ext (str, optional): Output extension (e.g. ``'.png'``); the input's by default.
        progress (bool): Show a progress bar.

    Returns:
        dict: ``images`` (found), ``skipped`` (done by an earlier run), ``aligned``
        (images with a crop in this run), ``faces`` (crops written), ``failed`` and one
        count per failure reason.
    """
    from tqdm import tqdm
    if select not in SELECT_MODES:
        raise ValueError(f'select must be one of {SELECT_MODES}, got {select!r}')
    detector = build_face_detector(detector)
    get_face_template(template, output_size)  # fail on a bad template before any work
    images = list_files(in_root, IMAGE_EXTS)
    if not images:
        videos = list_files(in_root, VIDEO_EXTS)
        hint = (f'; it holds {len(videos)} videos: extract their frames first '
                '(extract_frames_tree, or tools/dataset_converters/align_faces.py --videos)'
                if videos else '')
        raise ValueError(f'no images ({" ".join(IMAGE_EXTS)}) under {in_root}{hint}')
    os.makedirs(out_root, exist_ok=True)
    faces_csv, failures_csv = osp.join(out_root, FACES_CSV), osp.join(out_root, FAILURES_CSV)
    done = _read_done(faces_csv, out_root) if resume else set()
    todo = [rel for rel in images if rel not in done]
    stats = dict(images=len(images), skipped=len(images) - len(todo), aligned=0, faces=0,
                 failed=0, **{r: 0 for r in FAILURE_REASONS})
    new_faces_file = not (resume and osp.isfile(faces_csv))
    with open(faces_csv, 'w' if new_faces_file else 'a', newline='') as ff, \
            open(failures_csv, 'w', newline='') as fl, \
            ThreadPoolExecutor(max(1, int(num_workers))) as pool, \
            tqdm(total=len(todo), desc='align', unit='img', disable=not progress) as bar:
        faces_w, fail_w = csv.writer(ff), csv.writer(fl)
        if new_faces_file:
            faces_w.writerow(FACES_COLUMNS)
        fail_w.writerow(['image', 'reason'])

        def fail(rel: str, reason: str) -> None:
            fail_w.writerow([rel, reason])
            stats['failed'] += 1
            stats[reason] += 1

        for batch in _batches(todo, max(1, int(batch_size))):
            imgs = list(pool.map(lambda r: cv2.imread(osp.join(in_root, r), cv2.IMREAD_COLOR),
                                 batch))
            ok = [i for i, img in enumerate(imgs) if img is not None]
            for i in set(range(len(batch))) - set(ok):
                fail(batch[i], 'unreadable')
            results = detector.detect_batch([imgs[i] for i in ok])
            writes, rows = [], []
            for i, faces in zip(ok, results):
                keep = select_faces(faces, select)
                if not keep:
                    fail(batch[i], 'no_face')
                    continue
                crops = []
                for k in keep:
                    try:
                        crop, _ = align_face(imgs[i], faces.keypoints5[k], template,
                                             output_size)
                    except ValueError:  # fewer than 2 finite points
                        continue
                    name = _crop_name(batch[i], k, select, ext)
                    crops.append((name, crop))
                    rows.append((batch[i], [batch[i], name, k, float(faces.scores[k])] +
                                 faces.bboxes[k].tolist() +
                                 faces.keypoints5[k].reshape(-1).tolist()))
                if not crops:
                    fail(batch[i], 'no_points')
                writes.extend(crops)
            written = dict(zip((n for n, _ in writes), pool.map(
                lambda nc: _write(osp.join(out_root, nc[0]), nc[1]), writes)))
            aligned = set()
            for rel, row in rows:
                if written[row[1]]:
                    faces_w.writerow([round(v, 4) if isinstance(v, float) else v
                                      for v in row])
                    stats['faces'] += 1
                    aligned.add(rel)
            for rel in {rel for rel, _ in rows} - aligned:
                fail(rel, 'write_failed')
            stats['aligned'] += len(aligned)
            ff.flush()
            fl.flush()
            bar.update(len(batch))
    print_log(f'align_folder {in_root} -> {out_root}: {stats["images"]} images, '
              f'{stats["skipped"]} already done, {stats["aligned"]} aligned '
              f'({stats["faces"]} crops), {stats["failed"]} failed '
              f'({", ".join(f"{r}={stats[r]}" for r in FAILURE_REASONS if stats[r])}); '
              f'failures listed in {failures_csv}', logger='current')
    return stats


def _write(path: str, img: np.ndarray) -> bool:
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    return bool(cv2.imwrite(path, img))


def read_faces_csv(path: str) -> Tuple[List[dict], np.ndarray]:
    """Rows of a ``faces.csv`` and their (N, 5, 2) float32 source-image points."""
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    pts = np.array([[float(r[f'{c}{i}']) for i in range(5) for c in 'xy'] for r in rows],
                   np.float32).reshape(-1, 5, 2)
    return rows, pts
