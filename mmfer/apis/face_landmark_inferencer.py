# Copyright (c) mmfer contributors. All rights reserved.
"""Face landmarks (68 points, iBUG 300-W order) for face images, batched."""
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.infer import BaseInferencer

from .face_boxes import BoxSource
from .landmark_backends import (MMPOSE_300W_CONFIG, NUM_KEYPOINTS, DlibPredictor,
                                TopdownBatchPredictor, build_topdown_model)

InputType = Union[str, np.ndarray]
_RECORD = re.compile(r'^(?P<rec>.+\.rec)#(?P<key>\d+)$')

#: Failure reasons of :class:`FaceLandmarkInferencer` results (``result['failure']``).
FAILURES = ('unreadable image', 'no face box', 'image too small', 'degenerate face box',
            'landmarks outside the image', 'non-finite landmarks')


def list_face_images(root: str, list_file: Optional[str] = None
                     ) -> Tuple[List[str], List[str]]:
    """Images of a data root as (inputs for the inferencer, keys relative to the root).

    Args:
        root (str): A folder (searched recursively), or an InsightFace ``.rec`` file (with
            its ``.idx``; keys ``<rec name>#<record key>``, as ``MS1MRecordIO`` uses).
        list_file (str, optional): MS1M-style image list (paths relative to ``root``)
            instead of scanning the folder.

    Returns:
        tuple: ``(inputs, keys)``: readable sources (paths or ``'<rec>#<key>'``) and the
        names used in landmark files and box files.
    """
    if root.endswith('.rec'):
        from mmfer.datasets.recordio import RecordIOReader, insightface_image_keys
        keys = [f'{osp.basename(root)}#{k}'
                for k in insightface_image_keys(RecordIOReader(root))]
        return [f'{root}#{k.rsplit("#", 1)[1]}' for k in keys], keys
    from mmfer.datasets.face_folder import parse_image_list, scan_images
    keys = [p for p, _ in parse_image_list(list_file)] if list_file else scan_images(root)
    return [osp.join(root, k) for k in keys], keys


class _ImageReader:
    """Decodes a path, a ``'<file>.rec#<key>'`` record or an array to (H, W, 3) BGR uint8."""

    def __init__(self) -> None:
        self._readers: Dict[str, object] = {}

    def __getstate__(self) -> dict:  # open RecordIO files are reopened per worker
        return {'_readers': {}}

    def __call__(self, src: InputType) -> np.ndarray:
        from mmfer.datasets.transforms import decode_image
        if isinstance(src, np.ndarray):
            img = src
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, axis=2)
            if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
                raise ValueError(f'expected an (H, W, 3) uint8 BGR array, got {img.dtype} '
                                 f'{img.shape}')
            return img
        match = _RECORD.match(str(src))
        if match:
            from mmfer.datasets.recordio import RecordIOReader, unpack
            rec = match['rec']
            if rec not in self._readers:
                self._readers[rec] = RecordIOReader(rec)
            buf = unpack(self._readers[rec].read_idx(int(match['key'])))[1]
            return decode_image(buf, f'{rec} record {match["key"]}')
        with open(src, 'rb') as f:
            buf = f.read()
        return decode_image(buf, str(src))


class _FacePipeline:
    """Per-image step (runs in DataLoader workers): decode, face box, checks, ``prepare``."""

    def __init__(self, prepare, box_source: BoxSource, min_face_size: int) -> None:
        self.prepare = prepare
        self.box_source = box_source
        self.min_face_size = min_face_size
        self.read = _ImageReader()

    def __call__(self, src: InputType, key: str) -> dict:
        item = dict(key=key, data=None, failure=None, message=None, img_shape=None, bbox=None)

        def fail(reason: str, message: str) -> dict:
            item.update(failure=reason, message=f'{key}: {message}')
            return item

        try:
            img = self.read(src)
        except (OSError, ValueError, KeyError) as e:
            return fail('unreadable image', f'cannot read image: {e}')
        h, w = img.shape[:2]
        item['img_shape'] = (h, w)
        if min(h, w) < self.min_face_size:
            return fail('image too small',
                        f'image is {w}x{h}, smaller than min_face_size={self.min_face_size} px')
        box = self.box_source(key, img)
        if box is None:
            return fail('no face box', f'no face box from {self.box_source!r}')
        box = np.asarray(box, np.float32).reshape(4)
        clipped = np.clip(box, 0, [w, h, w, h])
        if (not np.isfinite(box).all()
                or min(clipped[2] - clipped[0], clipped[3] - clipped[1]) < self.min_face_size):
            return fail('degenerate face box',
                        f'face box {box.tolist()} has less than {self.min_face_size} px inside '
                        f'the {w}x{h} image')
        item['bbox'] = box
        item['data'] = self.prepare(img, box)
        return item


class _Items(torch.utils.data.Dataset):

    def __init__(self, pipeline: _FacePipeline, inputs: Sequence[InputType],
                 keys: Sequence[str]) -> None:
        self.pipeline, self.inputs, self.keys = pipeline, inputs, keys

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, i: int) -> dict:
        return self.pipeline(self.inputs[i], self.keys[i])


def _as_list(batch: list) -> list:
    return batch


def flag_landmarks(keypoints: np.ndarray, scores: np.ndarray, img_shape: Tuple[int, int],
                   max_outside_fraction: float = 0.5) -> Tuple[np.ndarray, int, Optional[str]]:
    """Score 0 for landmarks outside the image; a failure when too many are outside.

    The image covers ``[-0.5, w - 0.5] x [-0.5, h - 0.5]`` (pixel centres at integers, as in
    :mod:`mmfer.datasets.landmark_io`).

    Args:
        keypoints (np.ndarray): (K, 2) predicted (x, y) in pixels.
        scores (np.ndarray): (K,) their scores.
        img_shape (tuple): (h, w) of the image.
        max_outside_fraction (float): More points than this fraction outside the image means
            the face box was wrong: the whole prediction fails.

    Returns:
        tuple: ``(scores, num_outside, failure)``: the scores with outside points set to 0,
        how many points are outside, and None or the failure reason.
    """
    h, w = img_shape
    if not np.isfinite(keypoints).all():
        return np.zeros_like(scores), len(keypoints), 'non-finite landmarks'
    x, y = keypoints[:, 0], keypoints[:, 1]
    outside = (x < -0.5) | (x > w - 0.5) | (y < -0.5) | (y > h - 0.5)
    scores = np.where(outside, 0.0, scores).astype(np.float32)
    n = int(outside.sum())
    if n > max_outside_fraction * len(keypoints):
        return scores, n, 'landmarks outside the image'
    return scores, n, None


class FaceLandmarkInferencer(BaseInferencer):
    """68 face landmarks (iBUG 300-W order) per image, for one face box per image.

    Follows mmengine's inferencer workflow (``preprocess`` → ``forward`` → ``visualize`` →
    ``postprocess``, as mmpose's inferencers): ``preprocess`` decodes images, asks
    ``box_source`` for the face box, checks it and runs the backend's test pipeline, in
    DataLoader workers when ``num_workers > 0``; ``forward`` predicts a batch of faces at once
    and checks the landmarks. The model is built by the backend (mmpose's ``init_model`` or
    dlib), not by ``BaseInferencer.__init__``.

    A result is never silently wrong:

    - an image without a face box (``box_source`` gives None), smaller than
      ``min_face_size`` (e.g. 1x1) or whose box has less than ``min_face_size`` px inside the
      image gets no landmarks and a ``failure`` reason;
    - landmarks outside the image get score 0 (``num_outside`` counts them); more than
      ``max_outside_fraction`` of them outside means a wrong box: a failure.

    Each result (``predictions`` of :meth:`__call__`, or of :meth:`forward` per batch) is a
    dict: ``key``, ``keypoints`` (68, 2) float32 in image pixels and ``keypoint_scores``
    (68,) float32 (None on failure), ``num_outside``, ``failure`` (None or one of
    :data:`FAILURES`), ``message`` (why, naming the image), ``img_shape`` and ``bbox``.

    Args:
        model (str, optional): mmpose top-down config (``backend='mmpose'``). Defaults to
            mmpose's 300W HRNetV2-W18 (:data:`MMPOSE_300W_CONFIG`).
        weights (str, optional): Its checkpoint (path or URL, e.g.
            :data:`HRNET_300W_CHECKPOINT`); required unless ``random_weights_for_testing``.
        device (str, optional): ``'cpu'``, ``'cuda'``, ``'cuda:N'``. Defaults to CPU.
        backend (str): ``'mmpose'`` (batched top-down HRNet) or ``'dlib'`` (dlib's shape
            predictor, CPU). Defaults to ``'mmpose'``.
        box_source (callable): ``(key, img) -> xyxy box or None`` (see
            :mod:`mmfer.apis.face_boxes`): ``WholeImageBox()`` for aligned face crops,
            ``BoxFile(path)``, a detector ...
        min_face_size (int): Minimum image side and face-box side (inside the image), in
            pixels. Defaults to 8.
        max_outside_fraction (float): See :func:`flag_landmarks`. Defaults to 0.5.
        fuse_conv_bn (bool): Fuse Conv+BN of the mmpose model. Defaults to True.
        channels_last (bool): channels-last memory format for the mmpose model.
        flip_test (bool, optional): mmpose's flip test (average with the flipped face;
            twice the network cost). None: as the mmpose config says (on for the 300W
            HRNet). Defaults to None.
        precision (str): The mmpose network in ``'fp32'``, ``'bf16'`` or ``'fp16'`` (GPU)
            autocast; see :class:`TopdownBatchPredictor`. Defaults to ``'fp32'``.
        random_weights_for_testing (bool): Allow ``weights=None`` (meaningless landmarks, a
            loud warning is printed). Defaults to False.
        show_progress (bool): Progress bar in :meth:`__call__`. Defaults to False.

    Example:
        >>> from mmfer.apis import FaceLandmarkInferencer, WholeImageBox
        >>> inferencer = FaceLandmarkInferencer(
        ...     weights='hrnetv2_w18_300w_256x256-eea53406_20211019.pth',
        ...     box_source=WholeImageBox())            # aligned face crops
        >>> result = inferencer('faces/000001.jpg')['predictions'][0]
        >>> result['keypoints'].shape, result['failure']
        ((68, 2), None)
    """

    preprocess_kwargs: set = {'keys', 'num_workers'}
    forward_kwargs: set = set()
    visualize_kwargs: set = {'return_vis'}
    postprocess_kwargs: set = set()

    def __init__(self,
                 model: Optional[str] = None,
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 backend: str = 'mmpose',
                 box_source: Optional[BoxSource] = None,
                 min_face_size: int = 8,
                 max_outside_fraction: float = 0.5,
                 fuse_conv_bn: bool = True,
                 channels_last: bool = True,
                 flip_test: Optional[bool] = None,
                 precision: str = 'fp32',
                 random_weights_for_testing: bool = False,
                 show_progress: bool = False) -> None:
        if backend not in ('mmpose', 'dlib'):
            raise ValueError(f"backend must be 'mmpose' or 'dlib', got {backend!r}")
        if box_source is None or not callable(box_source):
            raise ValueError(
                'FaceLandmarkInferencer needs box_source=(key, img) -> xyxy box or None: '
                'WholeImageBox() for aligned face crops only, BoxFile(path), or a face '
                'detector (see mmfer.apis.face_boxes)')
        if min_face_size < 1:
            raise ValueError(f'min_face_size must be >= 1, got {min_face_size}')
        if not 0 <= max_outside_fraction <= 1:
            raise ValueError(f'max_outside_fraction must be in [0, 1], got '
                             f'{max_outside_fraction}')
        self.backend = backend
        self.box_source = box_source
        self.min_face_size = int(min_face_size)
        self.max_outside_fraction = float(max_outside_fraction)
        self.show_progress = show_progress
        self.device = device or 'cpu'
        if backend == 'mmpose':
            self.scope = 'mmpose'
            source = build_topdown_model(model or MMPOSE_300W_CONFIG, weights, self.device,
                                         random_weights_for_testing)
            self.cfg = source.cfg
            self.model = TopdownBatchPredictor(source, fuse_conv_bn, channels_last, flip_test,
                                               precision)
        else:
            if precision != 'fp32' or flip_test:
                raise ValueError("the dlib backend has no precision or flip_test option (got "
                                 f'precision={precision!r}, flip_test={flip_test!r})')
            self.scope = None
            self.cfg = None
            self.model = DlibPredictor()
        self.pipeline = self._init_pipeline(self.cfg)
        self.collate_fn = _as_list
        self.visualizer = None

    def _init_pipeline(self, cfg) -> _FacePipeline:
        """Decode + face box + checks + the backend's test pipeline, for one image."""
        return _FacePipeline(self.model.prepare, self.box_source, self.min_face_size)

    def _inputs_to_list(self, inputs) -> list:
        """A folder (recursive), a ``.rec`` file, a path, an array or a list of them."""
        if isinstance(inputs, str) and (inputs.endswith('.rec') or osp.isdir(inputs)):
            return list_face_images(inputs)[0]
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        return list(inputs)

    def preprocess(self, inputs: Sequence[InputType], batch_size: int = 1,
                   keys: Optional[Sequence[str]] = None, num_workers: int = 0):
        """Yield batches (lists) of per-image items, prepared in ``num_workers`` workers.

        Args:
            inputs (Sequence): Paths, ``'<file>.rec#<key>'`` records or BGR arrays.
            batch_size (int): Images per yielded batch.
            keys (Sequence[str], optional): Names of the inputs (box-file keys, result
                ``key``); defaults to the path, or ``'array<i>'``.
            num_workers (int): DataLoader workers. Defaults to 0 (this process).
        """
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        if keys is None:
            keys = [src if isinstance(src, str) else f'array{i}'
                    for i, src in enumerate(inputs)]
        if len(keys) != len(inputs):
            raise ValueError(f'{len(keys)} keys for {len(inputs)} inputs')
        yield from torch.utils.data.DataLoader(
            _Items(self.pipeline, list(inputs), list(keys)), batch_size=batch_size,
            shuffle=False, num_workers=num_workers, collate_fn=self.collate_fn)

    def forward(self, inputs: List[dict], **kwargs) -> List[dict]:
        """Predict a batch from :meth:`preprocess` and check every prediction."""
        ready = [item for item in inputs if item['data'] is not None]
        if ready:
            kpts, scores = self.model.predict([item['data'] for item in ready])
            for item, k, s in zip(ready, kpts, scores):
                s, n_out, failure = flag_landmarks(k, s, item['img_shape'],
                                                   self.max_outside_fraction)
                item.update(keypoints=None, keypoint_scores=None, num_outside=n_out)
                if failure is None:
                    item.update(keypoints=k.astype(np.float32), keypoint_scores=s)
                else:
                    item.update(failure=failure,
                                message=f'{item["key"]}: {n_out} of {len(k)} landmarks '
                                f'outside the {item["img_shape"][1]}x{item["img_shape"][0]} '
                                f'image ({failure}; face box {item["bbox"].tolist()})')
        results = []
        for item in inputs:
            item.pop('data')
            item.setdefault('keypoints', None)
            item.setdefault('keypoint_scores', None)
            item.setdefault('num_outside', 0)
            results.append(item)
        return results

    def visualize(self, inputs: list, preds: List[dict], return_vis: bool = False,
                  **kwargs) -> Optional[List[np.ndarray]]:
        """With ``return_vis``: RGB images with the landmarks drawn (flagged ones red)."""
        if not return_vis:
            return None
        from mmfer.visualization import FaceVisualizer
        vis = FaceVisualizer(name=f'face_landmarks_{id(self)}')
        read = _ImageReader()
        images = []
        for src, pred in zip(inputs, preds):
            try:
                img = read(src)[..., ::-1]
            except (OSError, ValueError, KeyError):
                images.append(None)
                continue
            vis.set_image(img)
            if pred['keypoints'] is not None:
                vis.draw_landmarks(pred['keypoints'], visible=pred['keypoint_scores'] > 0)
            images.append(vis.get_image())
        return images

    def postprocess(self, preds: List[dict], visualization: Optional[List[np.ndarray]],
                    return_datasamples: bool = False, **kwargs) -> dict:
        """``dict(predictions=..., visualization=...)``; with ``return_datasamples`` the
        predictions are mmpose ``PoseDataSample`` s (``pred_instances.keypoints`` (1, 68, 2),
        ``keypoint_scores`` (1, 68); empty instances on failure, ``metainfo['failure']``)."""
        if return_datasamples:
            from mmengine.structures import InstanceData
            from mmpose.structures import PoseDataSample
            samples = []
            for p in preds:
                inst = InstanceData()
                if p['keypoints'] is not None:
                    inst.keypoints = p['keypoints'][None]
                    inst.keypoint_scores = p['keypoint_scores'][None]
                samples.append(PoseDataSample(
                    pred_instances=inst,
                    metainfo=dict(img_path=p['key'], failure=p['failure'],
                                  message=p['message'])))
            preds = samples
        return dict(predictions=preds, visualization=visualization)


__all__ = ['FaceLandmarkInferencer', 'flag_landmarks', 'list_face_images', 'FAILURES',
           'NUM_KEYPOINTS']
