# Copyright (c) mmfer contributors. All rights reserved.
"""Faces in photos and videos -> expression / valence-arousal / AU scores or embeddings.

:class:`FERInferencer` is mmengine's inferencer workflow (``preprocess`` -> ``forward`` ->
``visualize`` -> ``postprocess``, as mmpretrain's ``ImageClassificationInferencer`` and
mmpose's inferencers) for faces: detect them (:func:`~mmfer.apis.build_face_detector`), align
them the way the model's training data was aligned (:func:`~mmfer.datasets.transforms.align_face`),
run the config's own test pipeline and ``data_preprocessor``, and read the model's head. The
model, its task and the crop: :mod:`mmfer.apis.fer_model`; videos: :mod:`mmfer.apis.face_tracking`.
"""
import csv
import os
import os.path as osp
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.infer import BaseInferencer
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from .face_detection.bulk import IMAGE_EXTS, VIDEO_EXTS
from .face_tracking import IoUTracker, TrackSmoother
from .fer_model import (DEFAULT_DETECTORS, face_preparation, load_fer_model,
                        output_names)

InputType = Union[str, np.ndarray]


class FERInferencer(BaseInferencer):
    """Detect, align and classify faces (or embed them) in images, folders and videos.

    The workflow and the per-task outputs are in the module docstring. Each prediction (per
    image, or per video frame) is a dict:

    - ``img_path`` (str or None), ``img_shape`` (h, w); videos also ``frame`` (0-based) and
      ``time`` (seconds);
    - ``faces``: one dict per face, best detection first: ``face_id`` (index in the image;
      the track id in videos, also ``track_id``), ``bbox`` (4,) x1 y1 x2 y2, ``score`` (the
      detector's), ``keypoints5`` (5, 2) (eye centres, nose tip, mouth corners; NaN where the
      detector has none), ``keypoints`` (K, 2) (e.g. dlib's 68) or None, ``align_matrix``
      (2, 3) image -> crop (when the inferencer aligned), ``failure`` (None, or why the face
      got no prediction), then the task's outputs: ``logits`` + ``scores`` + ``pred_label``
      + ``pred_class`` (expression), ``va`` (2,) + ``valence`` + ``arousal`` (va),
      ``logits`` + ``scores`` + ``active`` (au), ``embedding`` (embedding; with
      ``return_embedding`` for every task). With ``smooth``, ``logits`` / ``va`` are the
      smoothed values (``raw_logits`` / ``raw_va`` the frame's own).

    Args:
        model (str | Config): Config file or object.
        weights (str, optional): Checkpoint (see :func:`load_fer_model`).
        device (str, optional): ``'cpu'``, ``'cuda'`` ... Defaults to CUDA when available.
        detector (str | dict | BaseFaceDetector | None): Face detector (see
            :func:`~mmfer.apis.build_face_detector`; ``'dlib'`` = :data:`DEFAULT_DETECTORS`);
            None: every input image *is* an aligned face crop (no detection or alignment).
        template (str | dict, optional): Alignment template (see :func:`face_preparation`).
        batch_size (int): Faces per model forward (and images per detection batch).
        smooth (str, optional): Video smoothing, ``'mean'`` / ``'median'``; None = off.
        window (int): Smoothing window (odd, in detections of a track). Defaults to 9.
        max_faces (int, optional): Keep at most this many faces per image (best first).
        pipeline (list[dict], optional): Replaces the config's test pipeline.
        return_embedding (bool): Add ``embedding`` to every face. Defaults to False.
        cfg_options (dict, optional): Config overrides.
        tracker_iou (float): :class:`IoUTracker` ``iou_thr``. Defaults to 0.3.
        tracker_max_age (int): :class:`IoUTracker` ``max_age``. Defaults to 5.
        show_progress (bool): Progress bar over images. Defaults to False.

    Example:
        >>> from mmfer.apis import FERInferencer
        >>> inferencer = FERInferencer(CONFIG, CKPT)
        >>> pred = inferencer('astronaut.png')['predictions'][0]
        >>> face = pred['faces'][0]
        >>> face['bbox'], face['pred_class'], dict(zip(inferencer.classes, face['scores']))
    """

    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = {'return_vis', 'topk'}
    postprocess_kwargs: set = set()

    def __init__(self,
                 model: Union[str, Config],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 detector: Any = 'dlib',
                 template: Union[str, dict, None] = None,
                 batch_size: int = 16,
                 smooth: Optional[str] = None,
                 window: int = 9,
                 max_faces: Optional[int] = None,
                 pipeline: Optional[Sequence[dict]] = None,
                 return_embedding: bool = False,
                 cfg_options: Optional[dict] = None,
                 tracker_iou: float = 0.3,
                 tracker_max_age: int = 5,
                 show_progress: bool = False) -> None:
        from mmfer.apis.face_detection import build_face_detector
        from mmfer.registry import TRANSFORMS
        if int(batch_size) < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        if smooth not in (None, 'none', 'mean', 'median'):
            raise ValueError(f"smooth must be None, 'mean' or 'median', got {smooth!r}")
        self.smooth = None if smooth in (None, 'none') else smooth
        if self.smooth:
            TrackSmoother(self.smooth, window)  # checks the window before any work
        self.window = int(window)
        self.batch_size = int(batch_size)
        self.return_embedding = bool(return_embedding)
        self.tracker_iou, self.tracker_max_age = float(tracker_iou), int(tracker_max_age)
        IoUTracker(self.tracker_iou, self.tracker_max_age)  # checks the values
        self.show_progress = show_progress
        self.scope = 'mmfer'
        if device is None:
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        self.device = device
        self.model = load_fer_model(model, weights, device, cfg_options)
        self.cfg = self.model.cfg
        self.task = self.model.fer_task
        self.classes = output_names(self.model, self.task)
        if detector is None:
            self.detector = None
        else:
            if isinstance(detector, str) and detector in DEFAULT_DETECTORS:
                detector = DEFAULT_DETECTORS[detector]
            self.detector = build_face_detector(detector)
        if max_faces is not None and int(max_faces) < 1:
            raise ValueError(f'max_faces must be >= 1 or None, got {max_faces}')
        self.max_faces = None if max_faces is None else int(max_faces)
        self.face_prep = face_preparation(self.cfg, template, detector is None, pipeline)
        if self.face_prep['template'] is not None:
            from mmfer.datasets.transforms import get_face_template
            # fails early on a bad template; the points are used to report alignment
            self.template_points, self.template_size = get_face_template(
                self.face_prep['template'], self.face_prep['output_size'])
        with DefaultScope.overwrite_default_scope('mmfer'):
            self.pipeline = Compose([TRANSFORMS.build(s) for s in self.face_prep['pipeline']])
        self.collate_fn = default_collate
        self.visualizer = None
        print_log(f'FERInferencer: task {self.task}, faces by '
                  f'{"none (inputs are face crops)" if self.detector is None else self.detector}'
                  f', crop from {self.face_prep["source"]}'
                  + (f' ({self.face_prep["template"]})' if self.face_prep['template'] else ''),
                  logger='current')

    def _init_pipeline(self, cfg) -> Compose:  # built in __init__ (needs face_prep)
        return self.pipeline

    # ------------------------------------------------------------------ inputs
    def _inputs_to_list(self, inputs) -> list:
        """A folder (its images, recursively, sorted), a path, an array or a list."""
        if isinstance(inputs, str) and osp.isdir(inputs):
            from mmfer.apis.face_detection import list_files
            files = list_files(inputs, IMAGE_EXTS)
            if not files:
                raise ValueError(f'no images ({" ".join(IMAGE_EXTS)}) under {inputs}')
            return [osp.join(inputs, f) for f in files]
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        return list(inputs)

    @staticmethod
    def is_video(src: Any) -> bool:
        return isinstance(src, str) and osp.splitext(src)[1].lower() in VIDEO_EXTS

    @staticmethod
    def read_image(src: InputType) -> np.ndarray:
        """An (H, W, 3) uint8 BGR image from a path or an array (greyscale is expanded)."""
        from mmfer.datasets.transforms import decode_image
        if isinstance(src, np.ndarray):
            img = src[..., None].repeat(3, 2) if src.ndim == 2 else src
            if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
                raise ValueError(f'expected an (H, W, 3) uint8 BGR array, got {src.dtype} '
                                 f'{src.shape}')
            return np.ascontiguousarray(img)
        if not osp.isfile(str(src)):
            raise FileNotFoundError(f'image {src} does not exist')
        with open(src, 'rb') as f:
            return decode_image(f.read(), str(src))

    def preprocess(self, inputs: Sequence[InputType], batch_size: int = 1, **kwargs):
        """Yield lists of ``(img_path or None, BGR image)``, ``batch_size`` images each."""
        for i in range(0, len(inputs), max(1, batch_size)):
            yield [(src if isinstance(src, str) else None, self.read_image(src))
                   for src in inputs[i:i + batch_size]]

    # ------------------------------------------------------------------ model
    def _face_sample(self, img: np.ndarray, faces, k: int, key: Optional[str]
                     ) -> Tuple[Optional[dict], dict]:
        """Pipeline input of face ``k`` (or None and a failure) and the face's record."""
        from mmfer.datasets.transforms import align_face
        rec = dict(face_id=k, bbox=faces.bboxes[k].astype(np.float32),
                   score=float(faces.scores[k]),
                   keypoints5=faces.keypoints5[k].astype(np.float32),
                   keypoints=(faces.keypoints[k].astype(np.float32)
                              if 'keypoints' in faces else None),
                   align_matrix=None, failure=None)
        prep = self.face_prep
        if prep['mode'] == 'align':
            try:
                crop, matrix = align_face(img, faces.keypoints5[k], prep['template'],
                                          prep['output_size'])
            except ValueError as e:
                rec['failure'] = f'cannot align: {e} (the detector gives no landmarks?)'
                return None, rec
            rec['align_matrix'] = matrix.astype(np.float32)
            sample = dict(img=crop)
        elif prep['mode'] == 'pipeline':
            sample = dict(img=img, keypoints5=faces.keypoints5[k].astype(np.float64),
                          face_bbox=faces.bboxes[k].astype(np.float32))
        else:
            sample = dict(img=img)
        if prep['gray']:
            sample['img'] = cv2.cvtColor(cv2.cvtColor(sample['img'], cv2.COLOR_BGR2GRAY),
                                         cv2.COLOR_GRAY2BGR)
        sample.update(img_shape=sample['img'].shape[:2], ori_shape=img.shape[:2],
                      img_path=key or '')
        return sample, rec

    def _detect(self, images: Sequence[np.ndarray]) -> list:
        from mmengine.structures import InstanceData
        if self.detector is None:  # the whole image is the face
            out = []
            for img in images:
                h, w = img.shape[:2]
                res = InstanceData(metainfo=dict(img_shape=(h, w)))
                res.bboxes = np.array([[0, 0, w, h]], np.float32)
                res.scores = np.ones(1, np.float32)
                res.keypoints5 = np.full((1, 5, 2), np.nan, np.float32)
                out.append(res)
            return out
        return self.detector.detect_batch(list(images))

    @torch.no_grad()
    def run_model(self, samples: Sequence[dict]) -> Dict[str, np.ndarray]:
        """The model on pipeline outputs, ``batch_size`` at a time.

        Returns:
            dict: ``embedding`` (N, D) and/or ``logits`` (N, C) / ``va`` (N, 2) (raw head
            outputs), float32.
        """
        from mmfer.evaluation.features import pool_features
        outs: Dict[str, List[np.ndarray]] = {}
        for i in range(0, len(samples), self.batch_size):
            data = self.model.data_preprocessor(
                self.collate_fn(list(samples[i:i + self.batch_size])), False)
            feats = self.model.extract_feat(data['inputs'])
            if self.task == 'embedding' or self.return_embedding:
                outs.setdefault('embedding', []).append(
                    pool_features(feats).float().cpu().numpy())
            if self.task != 'embedding':
                head = self.model.head(feats)
                head = head[-1] if isinstance(head, (tuple, list)) else head
                outs.setdefault('va' if self.task == 'va' else 'logits', []).append(
                    head.float().cpu().numpy())
        return {k: np.concatenate(v) for k, v in outs.items()}

    def _finish_face(self, face: dict) -> dict:
        """Scores / labels of a face from its (possibly smoothed) ``logits`` or ``va``."""
        if self.task == 'expression':
            z = np.asarray(face['logits'], np.float64)
            p = np.exp(z - z.max())
            face['scores'] = (p / p.sum()).astype(np.float32)
            face['pred_label'] = int(np.argmax(z))
            face['pred_class'] = self.classes[face['pred_label']]
        elif self.task == 'au':
            face['scores'] = (1 / (1 + np.exp(-np.asarray(face['logits'], np.float64)))
                              ).astype(np.float32)
            thr = getattr(self.model.head, 'thr', None)
            face['active'] = face['scores'] >= (0.5 if thr is None else thr)
        elif self.task == 'va':
            face['valence'], face['arousal'] = (float(v) for v in face['va'][:2])
        return face

    def forward(self, inputs: List[Tuple[Optional[str], np.ndarray]], **kwargs) -> List[dict]:
        """Detect, align and run the model on a batch of ``(img_path, BGR image)``."""
        detections = self._detect([img for _, img in inputs])
        preds, samples, owners = [], [], []
        for (key, img), faces in zip(inputs, detections):
            records = []
            n = len(faces.bboxes) if self.max_faces is None else min(len(faces.bboxes),
                                                                     self.max_faces)
            for k in range(n):
                sample, rec = self._face_sample(img, faces, k, key)
                records.append(rec)
                if sample is not None:
                    samples.append(self.pipeline(sample))
                    owners.append(rec)
            preds.append(dict(img_path=key, img_shape=tuple(img.shape[:2]), faces=records))
        if samples:
            outs = self.run_model(samples)
            for j, rec in enumerate(owners):
                for name, values in outs.items():
                    rec[name] = values[j]
                self._finish_face(rec)
        return preds

    # ------------------------------------------------------------------ video
    def iter_video(self, source: Union[str, int], max_frames: Optional[int] = None
                   ) -> Iterator[Tuple[int, np.ndarray, dict]]:
        """Predictions of a video file or a camera (int index), frame by frame, in order.

        Faces get ``track_id`` s (:class:`IoUTracker`); with ``smooth`` their logits / VA
        values are smoothed per track (:class:`TrackSmoother`), so frames come out up to
        ``window // 2`` detections late.

        Yields:
            tuple: ``(frame index, BGR frame, prediction)`` (see the class docstring).

        Raises:
            OSError: the source cannot be opened.
        """
        cap = cv2.VideoCapture(source)
        if not cap.isOpened():
            raise OSError(f'cannot open {"camera" if isinstance(source, int) else "video"} '
                          f'{source} with OpenCV')
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        fps = fps if np.isfinite(fps) and fps > 0 else None
        tracker = IoUTracker(self.tracker_iou, self.tracker_max_age)
        smoother = TrackSmoother(self.smooth, self.window) if self.smooth else None
        key = 'va' if self.task == 'va' else 'logits'
        name = source if isinstance(source, str) else f'camera{source}'
        index = 0
        try:
            while max_frames is None or index < max_frames:
                frames = []
                while len(frames) < self.batch_size and (max_frames is None
                                                         or index + len(frames) < max_frames):
                    ok, frame = cap.read()
                    if not ok:
                        break
                    frames.append(frame)
                if not frames:
                    break
                preds = self.forward([(None, f) for f in frames])
                for frame, pred in zip(frames, preds):
                    pred.update(img_path=name, frame=index,
                                time=None if fps is None else index / fps)
                    ids = tracker.update(index, np.array([f['bbox'] for f in pred['faces']],
                                                         np.float32).reshape(-1, 4))
                    for face, t in zip(pred['faces'], ids):
                        face['face_id'] = face['track_id'] = t
                    if smoother is None or self.task == 'embedding':
                        yield index, frame, pred
                    else:
                        smoother.push((index, frame, pred), pred['faces'], key)
                        yield from self._smoothed(smoother.pop(tracker, index), key)
                    index += 1
        finally:
            cap.release()
        if smoother is not None and self.task != 'embedding':
            yield from self._smoothed(smoother.pop(final=True), key)

    def _smoothed(self, ready, key: str) -> Iterator[Tuple[int, np.ndarray, dict]]:
        for (index, frame, pred), faces in ready:
            for face, value in faces:
                face[f'raw_{key}'] = face[key]
                face[key] = value.astype(np.float32)
                self._finish_face(face)
            yield index, frame, pred

    # ------------------------------------------------------------------ call
    def __call__(self, inputs, return_vis: bool = False, batch_size: Optional[int] = None,
                 topk: int = 3, return_datasamples: bool = False) -> dict:
        """Predictions of images (path, array, list, folder) or of one video file.

        Args:
            inputs: An image path / BGR array / folder / list of them, or a video path.
            return_vis (bool): Also return RGB images with the predictions drawn.
            batch_size (int, optional): Overrides the constructor's.
            topk (int): Expression classes / AUs written per face on the drawings.

        Returns:
            dict: ``predictions`` (one dict per image or video frame) and ``visualization``
            (RGB arrays or None).
        """
        if return_datasamples:
            raise ValueError('FERInferencer returns dicts (see its docstring); '
                             'return_datasamples is not supported')
        if batch_size is not None:
            if int(batch_size) < 1:
                raise ValueError(f'batch_size must be >= 1, got {batch_size}')
            self.batch_size = int(batch_size)
        items = self._inputs_to_list(inputs)
        videos = [s for s in items if self.is_video(s)]
        if videos:
            if len(items) != 1:
                raise ValueError(f'give one video at a time (got {len(videos)} videos among '
                                 f'{len(items)} inputs)')
            preds, vis = [], []
            for _, frame, pred in self.iter_video(videos[0]):
                preds.append(pred)
                if return_vis:
                    vis.append(self.draw(frame[..., ::-1], pred, topk))
            return dict(predictions=preds, visualization=vis if return_vis else None)
        return super().__call__(items, batch_size=self.batch_size, return_vis=return_vis,
                                topk=topk)

    # ------------------------------------------------------------------ drawing
    def caption(self, face: dict, topk: int = 3) -> List[str]:
        """Text lines describing a face's prediction (used by :meth:`draw`)."""
        if face.get('failure'):
            return ['no prediction']
        if self.task == 'expression':
            order = np.argsort(-face['scores'])[:max(1, topk)]
            return [f'{self.classes[i]} {face["scores"][i]:.2f}' for i in order]
        if self.task == 'va':
            return [f'valence {face["valence"]:+.2f}', f'arousal {face["arousal"]:+.2f}']
        if self.task == 'au':
            order = [i for i in np.argsort(-face['scores']) if face['active'][i]][:topk]
            return [f'{self.classes[i]} {face["scores"][i]:.2f}' for i in order] or \
                ['no active AU']
        return [f'face {face["face_id"]}']

    def draw(self, rgb: np.ndarray, pred: dict, topk: int = 3) -> np.ndarray:
        """``rgb`` with each face's box, landmarks and :meth:`caption` drawn (RGB uint8)."""
        from mmfer.visualization import FaceVisualizer
        if self.visualizer is None:
            self.visualizer = FaceVisualizer(name=f'fer_inferencer_{id(self)}')
        vis = self.visualizer
        vis.set_image(np.ascontiguousarray(rgb))
        for face in pred['faces']:
            vis.draw_face_result(face['bbox'], self.caption(face, topk),
                                 keypoints=face.get('keypoints'),
                                 keypoints5=face.get('keypoints5'),
                                 track=face.get('track_id', face['face_id']))
        return vis.get_image()

    def visualize(self, inputs: list, preds: List[dict], return_vis: bool = False,
                  topk: int = 3, **kwargs) -> Optional[List[np.ndarray]]:
        if not return_vis:
            return None
        return [self.draw(self.read_image(src)[..., ::-1], pred, topk)
                for src, pred in zip(inputs, preds)]

    def postprocess(self, preds: List[dict], visualization: Optional[List[np.ndarray]],
                    return_datasamples: bool = False, **kwargs) -> dict:
        return dict(predictions=preds, visualization=visualization)

    # ------------------------------------------------------------------ tables
    def csv_columns(self, embedding_dim: int = 0) -> List[str]:
        """Columns of :meth:`csv_rows` (py-feat style: one row per face and frame)."""
        cols = ['source', 'frame', 'time', 'face', 'x1', 'y1', 'x2', 'y2', 'score']
        cols += [f'{c}{i}' for i in range(5) for c in ('lx', 'ly')]
        if self.task == 'expression':
            cols += list(self.classes) + ['pred_class']
        elif self.task in ('va', 'au'):
            cols += list(self.classes)
        dim = embedding_dim if (self.task == 'embedding' or self.return_embedding) else 0
        return cols + [f'emb{i}' for i in range(dim)] + ['failure']

    def csv_rows(self, pred: dict, index: int = 0) -> List[dict]:
        """One row per face of a prediction (:meth:`csv_columns`; numbers rounded); an
        image or frame without a face gets one row with ``failure='no face'``."""
        if not pred['faces']:
            return [dict(source=pred.get('img_path') or '', frame=pred.get('frame', index),
                         time='' if pred.get('time') is None else round(pred['time'], 4),
                         failure='no face')]
        rows = []
        for face in pred['faces']:
            row = dict(source=pred.get('img_path') or '', frame=pred.get('frame', index),
                       time='' if pred.get('time') is None else round(pred['time'], 4),
                       face=face['face_id'], score=round(face['score'], 4),
                       failure=face.get('failure') or '')
            row.update(zip(('x1', 'y1', 'x2', 'y2'), (round(float(v), 2)
                                                       for v in face['bbox'])))
            for i, (x, y) in enumerate(face['keypoints5']):
                row[f'lx{i}'] = '' if not np.isfinite(x) else round(float(x), 2)
                row[f'ly{i}'] = '' if not np.isfinite(y) else round(float(y), 2)
            if not face.get('failure'):
                if self.task in ('expression', 'au'):
                    row.update(zip(self.classes, (round(float(s), 5) for s in face['scores'])))
                if self.task == 'expression':
                    row['pred_class'] = face['pred_class']
                if self.task == 'va':
                    row.update(valence=round(face['valence'], 5),
                               arousal=round(face['arousal'], 5))
                if 'embedding' in face:
                    row.update({f'emb{i}': round(float(v), 6)
                                for i, v in enumerate(face['embedding'])})
            rows.append(row)
        return rows


class PredictionCSV:
    """Writes :meth:`FERInferencer.csv_rows` to a CSV file, a header first, flushed per
    prediction (an interrupted video still leaves the frames done). With embeddings, rows
    wait until a face tells the embedding size.

    Args:
        path (str): Output CSV (folders are created).
        inferencer (FERInferencer): Gives the columns and rows.
    """

    def __init__(self, path: str, inferencer: FERInferencer) -> None:
        self.path, self.inferencer = path, inferencer
        self.num_rows = 0
        self._file = None
        self._writer = None
        self._waiting: List[dict] = []
        self._embeds = inferencer.task == 'embedding' or inferencer.return_embedding

    def _open(self, dim: int) -> None:
        os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
        self._file = open(self.path, 'w', newline='')
        self._writer = csv.DictWriter(self._file, self.inferencer.csv_columns(dim),
                                      extrasaction='raise', restval='')
        self._writer.writeheader()

    def write(self, pred: dict, index: int = 0) -> None:
        """Add the rows of one prediction (an image or a video frame)."""
        rows = self.inferencer.csv_rows(pred, index)
        if self._writer is None:
            dims = [len(f['embedding']) for f in pred['faces'] if 'embedding' in f]
            if self._embeds and not dims:
                self._waiting.extend(rows)
                return
            self._open(dims[0] if dims else 0)
            rows = self._waiting + rows
            self._waiting = []
        self._writer.writerows(rows)
        self.num_rows += len(rows)
        self._file.flush()

    def close(self) -> None:
        if self._writer is None:  # no embedding seen (or nothing at all)
            self._open(0)
            self._writer.writerows(self._waiting)
            self.num_rows += len(self._waiting)
        self._file.close()

    def __enter__(self) -> 'PredictionCSV':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ['FERInferencer', 'PredictionCSV']
