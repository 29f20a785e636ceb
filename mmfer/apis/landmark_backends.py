# Copyright (c) mmfer contributors. All rights reserved.
"""Landmark predictors behind :class:`~mmfer.apis.FaceLandmarkInferencer`.

Two backends predict 68 points (iBUG 300-W order) for one face box per image:

- :class:`TopdownBatchPredictor`: mmpose's top-down model (default: the 300W HRNetV2-W18
  config shipped with mmpose, :data:`MMPOSE_300W_CONFIG`, checkpoint
  :data:`HRNET_300W_CHECKPOINT` from the OpenMMLab model zoo), batched;
- :class:`DlibPredictor`: dlib's shape predictor (``pip install dlib-bin
  face-recognition-models``), CPU only, cheaper and less accurate.

Both have ``prepare(img, bbox) -> data`` (run per image, e.g. in DataLoader workers) and
``predict(list of data) -> (keypoints (B, 68, 2), scores (B, 68))`` in image pixels.
"""
import contextlib
import copy
import importlib.util
import os.path as osp
import sys
import types
import warnings
from typing import List, Optional, Tuple

import numpy as np
import torch

from mmfer.datasets.landmark_io import NUM_FACE_LANDMARKS

#: Landmarks per face (iBUG 300-W order).
NUM_KEYPOINTS = NUM_FACE_LANDMARKS
#: mmpose's 300W HRNetV2-W18 top-down config (shipped inside the mmpose package).
MMPOSE_300W_CONFIG = osp.join(
    osp.dirname(importlib.util.find_spec('mmpose').origin), '.mim', 'configs',
    'face_2d_keypoint', 'topdown_heatmap', '300w',
    'td-hm_hrnetv2-w18_8xb64-60e_300w-256x256.py')
#: Its checkpoint in the OpenMMLab model zoo (metafile ``hrnetv2_300w.yml``).
HRNET_300W_CHECKPOINT = ('https://download.openmmlab.com/mmpose/face/hrnetv2/'
                         'hrnetv2_w18_300w_256x256-eea53406_20211019.pth')


def import_mmpose_inference() -> types.ModuleType:
    """``mmpose.apis.inference`` (``init_model``, ``inference_topdown``).

    ``import mmpose.apis`` also imports mmpose's inferencers, which call ``pkg_resources``
    (removed from setuptools >= 81). When that fails, the ``mmpose.apis`` package is
    registered without running its ``__init__`` and only ``inference`` is loaded.
    """
    try:
        from mmpose.apis import inference
        return inference
    except ModuleNotFoundError as e:
        if e.name != 'pkg_resources':
            raise
    sys.modules.pop('mmpose.apis', None)
    import mmpose
    pkg = types.ModuleType('mmpose.apis')
    pkg.__path__ = [osp.join(osp.dirname(mmpose.__file__), 'apis')]
    sys.modules['mmpose.apis'] = pkg
    import mmpose.apis.inference as inference
    return inference


@contextlib.contextmanager
def keep_default_scope():
    """Undo the ``init_default_scope('mmpose')`` of mmpose's APIs when leaving the block.

    mmpose's ``init_model``/``inference_topdown`` switch mmengine's global default scope to
    'mmpose'; a caller in another scope (an mmfer run, the tests) gets its scope back.
    mmengine has no public API to drop a scope instance, so the instances created inside
    the block are removed from ``DefaultScope._instance_dict``.
    """
    from mmengine.registry import DefaultScope
    before = set(DefaultScope._instance_dict)
    try:
        yield
    finally:
        for name in list(DefaultScope._instance_dict):
            if name not in before:
                DefaultScope._instance_dict.pop(name)


def build_topdown_model(config: str = MMPOSE_300W_CONFIG,
                        checkpoint: Optional[str] = None,
                        device: str = 'cpu',
                        random_weights_for_testing: bool = False) -> torch.nn.Module:
    """An mmpose top-down model in eval mode (random weights only when explicitly asked).

    Args:
        config (str): mmpose top-down config file.
        checkpoint (str, optional): Local path or URL; None or ``'none'`` only with
            ``random_weights_for_testing`` (a loud warning is printed).
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:N'``.
        random_weights_for_testing (bool): Allow a model without weights.

    Raises:
        FileNotFoundError: missing config or local checkpoint.
        ValueError: no checkpoint without ``random_weights_for_testing``, or a model that
            does not predict 68 keypoints.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'mmpose config {config} does not exist')
    if checkpoint is None or str(checkpoint).lower() == 'none':
        if not random_weights_for_testing:
            raise ValueError(
                'no --checkpoint: download the 300W HRNetV2-W18 checkpoint from the OpenMMLab '
                f'model zoo ({HRNET_300W_CHECKPOINT}) and pass its path; `--checkpoint none` is '
                'only allowed together with --random-weights-for-testing')
        bar = '!' * 78
        print(f'{bar}\n!! WARNING: --random-weights-for-testing: the landmark model has RANDOM '
              f'weights.\n!! The landmarks written are MEANINGLESS; use this for tests only.\n'
              f'{bar}', file=sys.stderr, flush=True)
        checkpoint = None
    elif '://' not in str(checkpoint) and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist (the model-zoo '
                                f'checkpoint is {HRNET_300W_CHECKPOINT})')
    import mmfer  # noqa: F401  (mmfer's safe checkpoint loading for mmengine)
    inference = import_mmpose_inference()
    if checkpoint is None:
        torch.manual_seed(0)  # the same random weights in every process
    with warnings.catch_warnings(), keep_default_scope():
        warnings.simplefilter('ignore')
        model = inference.init_model(config, checkpoint, device=device)
    if checkpoint is None:
        from mmengine.logging import MMLogger
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel('WARNING')  # init_weights logs every parameter at INFO
        try:
            model.init_weights()  # mmpose's head init (HRNet's pretrained init_cfg is dropped)
        finally:
            logger.setLevel(level)
        model.eval()
    n_out = getattr(model.head, 'out_channels', NUM_KEYPOINTS)
    if n_out != NUM_KEYPOINTS:
        raise ValueError(f'{config}: the model predicts {n_out} keypoints, not 68 (iBUG 300-W)')
    return model


#: Precisions of :class:`TopdownBatchPredictor` and the autocast dtype of each.
PRECISIONS = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


class TopdownBatchPredictor:
    """Batched version of mmpose's ``inference_topdown`` for one box per image.

    The same test pipeline, meta information, data preprocessor and ``predict`` (flip test,
    heatmap decoding) as ``inference_topdown``, but:

    - ``prepare`` (the pipeline) can run in DataLoader workers and the network sees a whole
      batch of faces per forward pass;
    - by default the model's Conv+BN pairs are fused (``mmcv.cnn.fuse_conv_bn``, the same
      function up to float rounding) and it runs in ``channels_last`` memory format, which
      oneDNN's CPU convolutions prefer for batches;
    - with a heatmap head, the ``MSRAHeatmap`` decoding of the whole batch is vectorised
      (:func:`decode_msra_heatmaps`, the same numbers);
    - options: the flip test on or off (default: the config's ``test_cfg``, on for mmpose's
      300W HRNet), and the network in bfloat16/float16 autocast (``precision``; heatmap
      heads only: the heatmaps are averaged and decoded in float32).

    ``benchmarks/bench_landmarks.py`` checks the landmarks against mmpose's own paths and
    times them against the bare network forward.

    Args:
        model (torch.nn.Module): An mmpose top-down model from
            :func:`build_topdown_model` (kept unmodified as :attr:`source_model`).
        fuse_conv_bn (bool): Fuse Conv+BN. Defaults to True.
        channels_last (bool): Use the channels-last memory format. Defaults to True.
        flip_test (bool, optional): Average with the prediction on the flipped face
            (mmpose's ``test_cfg.flip_test``, which doubles the network cost). None: as the
            config says. Defaults to None.
        precision (str): ``'fp32'``, ``'bf16'`` (CPUs with bfloat16 support, GPUs) or
            ``'fp16'`` (GPUs). Defaults to ``'fp32'``.
    """

    def __init__(self, model: torch.nn.Module, fuse_conv_bn: bool = True,
                 channels_last: bool = True, flip_test: Optional[bool] = None,
                 precision: str = 'fp32') -> None:
        from mmengine.dataset import Compose
        from mmengine.registry import DefaultScope
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {sorted(PRECISIONS)}, got {precision!r}')
        self.source_model = model
        with DefaultScope.overwrite_default_scope(model.cfg.get('default_scope', 'mmpose')):
            self.pipeline = Compose(model.cfg.test_dataloader.dataset.pipeline)
        test_cfg = dict(getattr(model, 'test_cfg', None) or {})
        if flip_test is not None:
            test_cfg['flip_test'] = bool(flip_test)
        if precision != 'fp32' and not self._heatmap_model(model, test_cfg):
            raise ValueError(f"precision={precision!r} needs a heatmap head with flip_mode "
                             f"'heatmap' (got {type(model.head).__name__}, test_cfg "
                             f'{test_cfg}); use precision=\'fp32\'')
        if fuse_conv_bn or channels_last or test_cfg != getattr(model, 'test_cfg', None):
            model = copy.deepcopy(model).eval()
            model.test_cfg = test_cfg
        if fuse_conv_bn:
            from mmcv.cnn import fuse_conv_bn as _fuse
            model = _fuse(model)
        self.channels_last = channels_last
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.flip_test = bool(test_cfg.get('flip_test', False))
        self.precision = precision

    @staticmethod
    def _heatmap_model(model: torch.nn.Module, test_cfg: dict) -> bool:
        from mmpose.models.heads import HeatmapHead
        return (isinstance(model.head, HeatmapHead)
                and test_cfg.get('flip_mode', 'heatmap') == 'heatmap'
                and not test_cfg.get('output_heatmaps', False))

    def prepare(self, img: np.ndarray, bbox: np.ndarray) -> dict:
        """Pipeline output for one (H, W, 3) BGR image and its (4,) xyxy face box."""
        info = dict(img=img, bbox=np.asarray(bbox, np.float32).reshape(1, 4),
                    bbox_score=np.ones(1, dtype=np.float32))
        info.update(self.source_model.dataset_meta)
        return self.pipeline(info)

    @torch.inference_mode()
    def predict(self, data: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
        """(B, K, 2) landmarks in image pixels and (B, K) scores for prepared samples."""
        from mmengine.dataset import pseudo_collate
        batch = self.model.data_preprocessor(pseudo_collate(data), False)
        inputs = batch['inputs']
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        if self._heatmap_model(self.model, self.model.test_cfg):
            results = self._predict_heatmaps(inputs, batch['data_samples'])
        else:
            results = self.model(inputs, batch['data_samples'], mode='predict')
        kpts = np.stack([r.pred_instances.keypoints[0] for r in results]).astype(np.float32)
        scores = np.stack([r.pred_instances.keypoint_scores[0] for r in results])
        return kpts, scores.astype(np.float32)

    def _predict_heatmaps(self, inputs: torch.Tensor, data_samples: list) -> list:
        """mmpose's ``TopdownPoseEstimator.predict`` + ``HeatmapHead.predict`` (the same
        operations in the same order), with the network under autocast for ``bf16``/``fp16``
        (heatmaps averaged and decoded in float32) and ``MSRAHeatmap`` decoding done for the
        whole batch at once (:func:`decode_msra_heatmaps`)."""
        from mmengine.structures import InstanceData
        from mmpose.codecs import MSRAHeatmap
        from mmpose.models.utils.tta import flip_heatmaps
        model, cfg = self.model, self.model.test_cfg
        dtype = PRECISIONS[self.precision]
        with torch.autocast(inputs.device.type, dtype=dtype or torch.float32,
                            enabled=dtype is not None):
            feats = model.extract_feat(inputs)
            feats_flip = model.extract_feat(inputs.flip(-1)) if self.flip_test else None
            heatmaps = model.head.forward(feats)
            flipped = model.head.forward(feats_flip) if self.flip_test else None
        heatmaps = heatmaps.float()
        if flipped is not None:
            flipped = flip_heatmaps(flipped.float(), flip_mode='heatmap',
                                    flip_indices=data_samples[0].metainfo['flip_indices'],
                                    shift_heatmap=cfg.get('shift_heatmap', False))
            heatmaps = (heatmaps + flipped) * 0.5
        decoder = model.head.decoder
        if type(decoder) is MSRAHeatmap and not decoder.unbiased:
            kpts, scores = decode_msra_heatmaps(heatmaps.cpu().numpy(), decoder.scale_factor)
            preds = [InstanceData(keypoints=k[None], keypoint_scores=s[None])
                     for k, s in zip(kpts, scores)]
        else:
            preds = model.head.decode(heatmaps)
        return model.add_pred_to_datasample(preds, None, data_samples)


def decode_msra_heatmaps(heatmaps: np.ndarray, scale_factor: np.ndarray
                         ) -> Tuple[np.ndarray, np.ndarray]:
    """mmpose's ``MSRAHeatmap.decode`` (``unbiased=False``) for a batch at once.

    The maximum of each heatmap (``get_heatmap_maximum``: -1 where it is <= 0), moved by a
    quarter pixel towards the larger neighbour with mmpose's ``refine_keypoints`` bounds, times
    the codec's ``scale_factor``: the same numbers as ``decode`` per sample, without its
    Python loop over keypoints.

    Args:
        heatmaps (np.ndarray): (B, K, H, W) float32 heatmaps.
        scale_factor (np.ndarray): (2,) input size / heatmap size.

    Returns:
        tuple: ``keypoints`` (B, K, 2) float32 in input pixels, ``scores`` (B, K) float32.
    """
    from mmpose.codecs.utils import get_heatmap_maximum
    b, k, h, w = heatmaps.shape
    locs, vals = get_heatmap_maximum(heatmaps)  # (B, K, 2), (B, K)
    x = locs[..., 0].astype(int)
    y = locs[..., 1].astype(int)
    flat = heatmaps.reshape(b, k, h * w)

    def at(yy, xx):
        idx = np.clip(yy, 0, h - 1) * w + np.clip(xx, 0, w - 1)
        return np.take_along_axis(flat, idx[..., None], -1)[..., 0]

    dx = np.where((1 < x) & (x < w - 1) & (0 < y) & (y < h), at(y, x + 1) - at(y, x - 1), 0)
    dy = np.where((1 < y) & (y < h - 1) & (0 < x) & (x < w), at(y + 1, x) - at(y - 1, x), 0)
    locs += np.sign(np.stack([dx, dy], -1)).astype(np.float32) * 0.25
    return locs * scale_factor, vals


def dlib_model_path() -> Optional[str]:
    """``shape_predictor_68_face_landmarks.dat`` of ``face-recognition-models``, if installed."""
    spec = importlib.util.find_spec('face_recognition_models')
    if spec is None or not spec.submodule_search_locations:
        return None
    path = osp.join(list(spec.submodule_search_locations)[0], 'models',
                    'shape_predictor_68_face_landmarks.dat')
    return path if osp.isfile(path) else None


class DlibPredictor:
    """dlib's 68-point shape predictor on the given face boxes.

    dlib gives no confidence: every point gets score 1.0 (points outside the image are
    flagged later by the inferencer).
    """

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as e:
            raise ImportError('the dlib backend needs `pip install dlib-bin`') from e
        path = dlib_model_path()
        if path is None:
            raise ImportError('the dlib backend needs the 68-point model: `pip install '
                              'face-recognition-models` (ships '
                              'shape_predictor_68_face_landmarks.dat)')
        self.dlib = dlib
        self.predictor = dlib.shape_predictor(path)

    def __getstate__(self) -> dict:  # dlib objects do not pickle: rebuilt in workers
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def prepare(self, img: np.ndarray, bbox: np.ndarray) -> dict:
        """dlib input for one (H, W, 3) BGR image and its (4,) xyxy face box."""
        return dict(img=np.ascontiguousarray(img[..., ::-1]), bbox=bbox)  # dlib wants RGB

    def predict(self, data: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
        """(B, K, 2) landmarks in image pixels and (B, K) scores (all 1.0)."""
        kpts = []
        for d in data:
            x1, y1, x2, y2 = d['bbox']
            rect = self.dlib.rectangle(int(round(x1)), int(round(y1)),
                                       int(round(x2)) - 1, int(round(y2)) - 1)
            shape = self.predictor(d['img'], rect)
            kpts.append([(shape.part(i).x, shape.part(i).y) for i in range(NUM_KEYPOINTS)])
        kpts = np.asarray(kpts, dtype=np.float32).reshape(-1, NUM_KEYPOINTS, 2)
        return kpts, np.ones(kpts.shape[:2], np.float32)
