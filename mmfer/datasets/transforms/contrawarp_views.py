# Copyright (c) mmfer contributors. All rights reserved.
from typing import List, Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform, Compose

from mmfer.registry import TRANSFORMS
from .heatmap import build_codec, encode_heatmaps
from .utils import check_bgr_image, describe, get_face_keypoints

#: Transforms x1 may not use, with the reason: x1's landmarks must stay valid.
X1_FORBIDDEN = {
    'RandomResizedCrop': 'random crops are not allowed in x1 (landmarks must stay valid)',
    'RandomCrop': 'random crops are not allowed in x1 (landmarks must stay valid)',
    'CenterCrop': 'crops do not move gt_keypoints (K, 2); resize with FaceResize instead',
    'RandomFlip': 'it does not swap left/right landmark labels; use FaceRandomFlip',
    'Resize': 'it does not move (K, 2) gt_keypoints at pixel centres; use FaceResize',
    'ResizeEdge': 'it does not move gt_keypoints; use FaceResize',
    'RandomResize': 'it does not move (K, 2) gt_keypoints; use FaceResize',
}


def _type_name(t: Union[dict, object]) -> str:
    name = t.get('type', '') if isinstance(t, dict) else type(t).__name__
    return name if isinstance(name, str) else getattr(name, '__name__', str(name))


def _build_pipeline(pipeline: Sequence, forbidden: Optional[dict] = None,
                    which: str = '') -> Compose:
    transforms = []
    for t in pipeline:
        name = _type_name(t).split('.')[-1]
        if forbidden and name in forbidden:
            raise ValueError(f'ContraWarpViews: view pipeline {which} contains {name}: '
                             f'{forbidden[name]}')
        transforms.append(TRANSFORMS.build(t) if isinstance(t, dict) else t)
    return Compose(transforms)


@TRANSFORMS.register_module()
class ContraWarpViews(BaseTransform):
    """The three views of ContraWarping: x1, x2 (global augmentations) and x3 = RW(x1).

    x1 is ``view_pipelines[0]`` applied to the face; it must not crop randomly and its
    geometric transforms must move ``gt_keypoints`` (``FaceResize``, ``FaceRandomFlip``; mmcv's
    ``RandomFlip``/``Resize`` and random crops are rejected, and a pipeline that changes the
    image size without moving the landmarks raises). x2 is ``view_pipelines[1]`` applied to
    the face (landmarks dropped, it may crop). x3 is ``warp`` (a :class:`RandomLocalWarp`)
    applied to x1, so it shares x1's photometric augmentation and its landmarks are x1's moved
    with :func:`warp_points`.

    Keypoint weights (the same for x1 and x3): ``moved_weight`` for landmarks the warp moved by
    more than its ``moved_thr``, ``unmoved_weight`` for the others, 0 for landmarks outside x1
    or x3 (or, with a codec, whose Gaussian misses the heatmap), all 0 when the sample has no
    landmarks (allowed only when the warp's ``center_mode='random'``).

    Heatmap targets are encoded here (with the ``codec``), the model's landmark head only reads
    them (mmpose's way: ``GenerateTarget`` in the pipeline, ``HeatmapHead.loss`` reads
    ``gt_fields``).

    Required keys: ``img`` (H, W, 3); optional landmarks: ``gt_keypoints`` (K, 2),
    K = ``num_keypoints``, or mmpose-style ``keypoints`` (1, K, 2) + ``keypoints_visible``
    (1, K) + ``has_landmarks`` (as ``FaceFolderDataset`` gives; invisible landmarks get
    weight 0).

    Modified keys: ``img`` becomes the list ``[x1, x2, x3]``; ``gt_keypoints`` becomes
    (2, K, 2) float32 (x1's and x3's landmarks in view pixels; zeros without landmarks);
    ``img_shape`` is x1's (H, W).

    Added keys: ``keypoint_weights`` (2, K) float32, ``heatmaps`` (2, K, h, w) float32 (with a
    codec), ``has_landmarks`` (bool), ``ori_keypoints`` ((K, 2) input landmarks or None),
    ``warp_params`` (list of (c, m, r, strength) in x1 pixels), ``warp_moved`` ((K,) bool), ``flip``
    (x1 flipped).

    Args:
        view_pipelines (list[list]): ``[pipeline_x1, pipeline_x2]`` of transform configs.
        warp (dict): Config of the local warp applied to x1. Defaults to
            ``dict(type='RandomLocalWarp')``.
        moved_weight (float): Weight of moved landmarks. Defaults to 1.0.
        unmoved_weight (float): Weight of the other landmarks. Defaults to 0.1.
        codec (dict, optional): mmpose codec config (e.g. ``MSRAHeatmap`` 224 → 56, sigma 1.5)
            for heatmap targets; the x1 size must equal its ``input_size``. None: no heatmaps.
        num_keypoints (int): K, also the size of the all-zero targets of samples without
            landmarks. Defaults to 68.
    """

    def __init__(self,
                 view_pipelines: List[list],
                 warp: dict = dict(type='RandomLocalWarp'),
                 moved_weight: float = 1.0,
                 unmoved_weight: float = 0.1,
                 codec: Optional[dict] = None,
                 num_keypoints: int = 68) -> None:
        if not isinstance(view_pipelines, (list, tuple)) or len(view_pipelines) != 2:
            raise ValueError('view_pipelines must be [pipeline_x1, pipeline_x2], got '
                             f'{view_pipelines!r:.200}')
        self.view_pipelines_cfg = view_pipelines
        self.pipeline_x1 = _build_pipeline(view_pipelines[0], X1_FORBIDDEN, 'x1')
        self.pipeline_x2 = _build_pipeline(view_pipelines[1], None, 'x2')
        self.warp_cfg = warp
        self.warp = TRANSFORMS.build(warp) if isinstance(warp, dict) else warp
        self.moved_weight = float(moved_weight)
        self.unmoved_weight = float(unmoved_weight)
        self.codec_cfg = codec
        self.codec = None if codec is None else build_codec(codec)
        self.num_keypoints = int(num_keypoints)

    def transform(self, results: dict) -> dict:
        img = check_bgr_image(results, 'ContraWarpViews')
        kpts, visible, key = get_face_keypoints(results, 'ContraWarpViews', self.num_keypoints)
        has = kpts is not None
        if not has and getattr(self.warp, 'center_mode', 'random') == 'landmark':
            raise KeyError("ContraWarpViews: the warp has center_mode='landmark' but the sample "
                           f'has no landmarks ({describe(results)}); give the dataset a '
                           "landmark file or use center_mode='random'")

        r1 = dict(results, img=img.copy())
        r2 = dict(results, img=img.copy())
        for k in ('gt_keypoints', 'keypoints', 'keypoints_visible'):
            r2.pop(k, None)
        x1 = self.pipeline_x1(r1)
        x2 = self.pipeline_x2(r2)
        if x1 is None or x2 is None:
            raise RuntimeError('ContraWarpViews: a view pipeline returned None '
                               f'({describe(results)})')
        img1 = check_bgr_image(x1, 'ContraWarpViews (x1 after its pipeline)')
        check_bgr_image(x2, 'ContraWarpViews (x2 after its pipeline)')
        k1 = None
        if has:
            k1, vis1, _ = get_face_keypoints(x1, 'ContraWarpViews (x1)', self.num_keypoints)
            if k1 is None:
                raise KeyError(f'ContraWarpViews: the x1 pipeline dropped the landmarks '
                               f'({describe(results)})')
            visible = vis1 if vis1 is not None else visible
            if img1.shape[:2] != img.shape[:2] and np.array_equal(k1, kpts):
                raise ValueError(
                    f'ContraWarpViews: the x1 pipeline resized the image from {img.shape[:2]} '
                    f'to {img1.shape[:2]} but did not move its landmarks ({describe(results)}); '
                    'use landmark-aware transforms (FaceResize, FaceRandomFlip) in x1')

        r3 = dict(img=img1.copy(), img_path=results.get('img_path'))
        if has:
            r3['gt_keypoints'] = k1.copy()
        x3 = self.warp(r3)
        img3 = x3['img']

        k = self.num_keypoints
        h, w = img1.shape[:2]
        if has:
            k3 = x3['gt_keypoints']
            moved = x3['warp_moved']
            weight = np.where(moved, self.moved_weight, self.unmoved_weight).astype(np.float32)
            if visible is not None:  # mmpose-style keypoints_visible of the dataset
                weight = weight * (visible > 0)
            for kp in (k1, k3):
                inside = ((kp[:, 0] >= 0) & (kp[:, 0] <= w - 1) & (kp[:, 1] >= 0)
                          & (kp[:, 1] <= h - 1))
                weight = weight * inside
            keypoints = np.stack([k1, k3]).astype(np.float32)
        else:
            moved = np.zeros(k, bool)
            weight = np.zeros(k, np.float32)
            keypoints = np.zeros((2, k, 2), np.float32)

        if self.codec is not None:
            if has:  # x1 and x3 in one call (one Gaussian patch, placed 2K times)
                heatmaps, kw = encode_heatmaps(self.codec, keypoints, weight, (h, w))
                weight = weight * (kw[0] > 0) * (kw[1] > 0)
            else:
                encode_heatmaps(self.codec, np.zeros((k, 2), np.float32), None, (h, w))
                hw, hh = self.codec.heatmap_size
                heatmaps = np.zeros((2, k, hh, hw), np.float32)
            results['heatmaps'] = heatmaps

        results['img'] = [img1, x2['img'], img3]
        results['img_shape'] = (h, w)
        results['ori_keypoints'] = kpts if has else None
        results['gt_keypoints'] = keypoints
        results['keypoint_weights'] = np.stack([weight, weight]).astype(np.float32)
        results['has_landmarks'] = bool(has)
        results['warp_params'] = x3['warp_params']
        results['warp_moved'] = moved
        results['flip'] = bool(x1.get('flip', False))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(view_pipelines=[{self.pipeline_x1!r}, '
                f'{self.pipeline_x2!r}], warp={self.warp!r}, '
                f'moved_weight={self.moved_weight}, unmoved_weight={self.unmoved_weight}, '
                f'codec={self.codec_cfg}, num_keypoints={self.num_keypoints})')
