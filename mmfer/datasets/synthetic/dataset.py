# Copyright (c) mmfer contributors. All rights reserved.
"""On-the-fly synthetic face datasets: faces rendered when an item is read, nothing on disk.

:class:`SyntheticFaceDataset` gives still faces as :class:`~mmfer.datasets.FaceFolderDataset`
does (so the ContraWarping and BYOL pipelines run on it unchanged), and
:class:`SyntheticFaceVideoDataset` gives video frames as
:class:`~mmfer.datasets.VoxCelebFrames` does (so ``TimeAug`` / ``HardNeg`` / ``FaceSwap``
draw other frames of the clip). Every item is a pure function of (dataset arguments, index):
epochs and dataloader workers are reproducible, and different indices (hence different
workers) render different faces.

Frames and faces have ``img_path`` URIs ``synthface://<token>/...`` (``token`` identifies the
dataset's arguments); mmengine's file I/O reads them through :class:`SyntheticFaceBackend`,
which renders the face and returns it PNG-encoded. So ``LoadFaceImage`` and the temporal
transforms load frames exactly as from files. Such a URI only resolves in a process where its
dataset exists (a dataloader worker has its own copy).
"""
import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.dataset import Compose
from mmengine.fileio import BaseStorageBackend, register_backend
from mmengine.logging import print_log
from torch.utils.data import Dataset

from mmfer.registry import DATASETS
from ..landmark_io import NUM_FACE_LANDMARKS
from ..video_frames import VideoFrameIndex
from .face_model import EXPRESSION_CLASSES, expression_index
from .generator import SyntheticFaceGenerator

URI_PREFIX = 'synthface://'

#: token -> live source (a dataset's renderer) of this process.
_SOURCES: Dict[str, '_Source'] = {}


class SyntheticFaceBackend(BaseStorageBackend):
    """mmengine file backend of ``synthface://<token>/<item>`` URIs: renders, returns PNG bytes.

    Registered for the ``synthface`` prefix, so ``mmengine.fileio.get(uri)`` (and therefore
    ``LoadFaceImage`` and the SSL-FER frame loaders) works on a synthetic dataset's paths.
    """

    def get(self, filepath) -> bytes:
        source, item = _resolve(str(filepath))
        ok, buf = cv2.imencode('.png', source.render_item(item),
                               [cv2.IMWRITE_PNG_COMPRESSION, 0])
        if not ok:
            raise OSError(f'{filepath}: could not encode the rendered face')
        return buf.tobytes()

    def get_text(self, filepath, encoding: str = 'utf-8') -> str:
        raise OSError(f'{filepath} is a synthetic face image, not a text file')


register_backend('synthface', SyntheticFaceBackend, force=True, prefixes='synthface')


def _resolve(uri: str) -> Tuple['_Source', str]:
    if not uri.startswith(URI_PREFIX):
        raise ValueError(f'{uri} is not a {URI_PREFIX} URI')
    token, _, item = uri[len(URI_PREFIX):].partition('/')
    source = _SOURCES.get(token)
    if source is None:
        raise FileNotFoundError(
            f'{uri}: no synthetic face dataset with token {token!r} in this process (such '
            'paths only resolve where the SyntheticFaceDataset / SyntheticFaceVideoDataset '
            f'that made them exists; live tokens: {sorted(_SOURCES) or "none"})')
    return source, item


def _token(kind: str, params: dict) -> str:
    blob = json.dumps([kind, params], sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def _check_range(name: str, value: Sequence[float], lo: float, hi: float) -> Tuple[float, float]:
    a, b = (float(v) for v in value)
    if not lo <= a <= b <= hi:
        raise ValueError(f'{name} must satisfy {lo} <= min <= max <= {hi}, got {value}')
    return a, b


class _Source:
    """The renderer behind a dataset's URIs; holds a per-process generator."""

    def __init__(self, generator_cfg: dict) -> None:
        self.generator_cfg = generator_cfg
        self._gen: Optional[SyntheticFaceGenerator] = None

    @property
    def gen(self) -> SyntheticFaceGenerator:
        if self._gen is None:
            self._gen = SyntheticFaceGenerator(**self.generator_cfg)
        return self._gen

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state['_gen'] = None
        return state

    def render_item(self, item: str) -> np.ndarray:
        raise NotImplementedError


class _SyntheticBase(Dataset):
    """Shared arguments, pipeline, URIs and pickling of the two synthetic datasets."""

    _kind = ''

    def __init__(self, image_size: int, seed: int, noise_std: float, pose_jitter: float,
                 lighting: float, num_identities: int, identity_offset: int,
                 expressions: Optional[Sequence[Union[str, int]]],
                 pipeline: Sequence[Union[dict, Callable]], params: dict) -> None:
        name = type(self).__name__
        if int(num_identities) < 1:
            raise ValueError(f'{name}: num_identities must be >= 1, got {num_identities}')
        if int(identity_offset) < 0:
            raise ValueError(f'{name}: identity_offset must be >= 0, got {identity_offset}')
        try:
            self.classes = [expression_index(e) for e in (expressions or EXPRESSION_CLASSES)]
        except (ValueError, IndexError, KeyError) as e:
            raise ValueError(f'{name}: bad expressions {expressions!r}: {e}') from None
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f'{name}: expressions {expressions!r} repeat a class')
        self.num_identities = int(num_identities)
        self.identity_offset = int(identity_offset)
        generator_cfg = dict(image_size=int(image_size), seed=int(seed),
                             noise_std=float(noise_std), pose_jitter=float(pose_jitter),
                             lighting=float(lighting),
                             identity_cache_size=min(self.num_identities, 4096))
        gen = SyntheticFaceGenerator(**generator_cfg)  # a bad argument fails here, not in a worker
        self.image_size = int(image_size)
        self.seed = int(seed)
        self.token = _token(self._kind, dict(params, generator=generator_cfg,
                                             classes=self.classes,
                                             num_identities=self.num_identities,
                                             identity_offset=self.identity_offset))
        self.source = self._make_source(generator_cfg)
        self.source._gen = gen
        _SOURCES[self.token] = self.source
        self.pipeline = Compose(pipeline)

    def _make_source(self, generator_cfg: dict) -> _Source:
        raise NotImplementedError

    @property
    def metainfo(self) -> dict:
        """``classes``: the 8 :data:`EXPRESSION_CLASSES` (``gt_label`` indexes them whatever
        ``expressions`` selects), ``expressions``: the classes drawn, and ``dataset_name``."""
        return dict(classes=EXPRESSION_CLASSES, dataset_name=type(self).__name__,
                    expressions=tuple(EXPRESSION_CLASSES[c] for c in self.classes))

    def full_init(self) -> None:
        """Nothing to load (mmengine's dataloader builder calls it)."""

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        _SOURCES[self.token] = self.source      # a spawned worker: make the URIs resolve

    def get_data_info(self, idx: int) -> dict:
        raise NotImplementedError

    def _check_index(self, idx: int) -> int:
        n = len(self)
        idx = int(idx)
        if idx < 0:
            idx += n
        if not 0 <= idx < n:
            raise IndexError(f'{type(self).__name__}: index {idx} out of range [0, {n})')
        return idx

    def prepare_data(self, idx: int) -> dict:
        raise NotImplementedError

    def __getitem__(self, idx: int) -> dict:
        out = self.prepare_data(idx)
        if out is None:
            raise RuntimeError(f'{type(self).__name__}: the pipeline returned None for item '
                               f'{idx} ({self.get_data_info(idx)["img_path"]}); synthetic '
                               'items are never skipped')
        return out


# ----------------------------------------------------------------------------------- stills
class _StillSource(_Source):

    def __init__(self, generator_cfg: dict, draw: Callable[[int], dict]) -> None:
        super().__init__(generator_cfg)
        self.draw = draw

    def render(self, idx: int) -> dict:
        d = self.draw(idx)
        return self.gen.render(d['identity'], d['gt_label'], d['intensity'],
                               seed=d['render_seed'])

    def render_item(self, item: str) -> np.ndarray:
        try:
            idx = int(item.rsplit('.', 1)[0])
        except ValueError:
            raise FileNotFoundError(f'{URI_PREFIX}...: bad still-face item {item!r} (expected '
                                    '<index>.png)') from None
        return self.render(idx)['img']


@DATASETS.register_module()
class SyntheticFaceDataset(_SyntheticBase):
    """Synthetic still faces rendered on the fly, items like :class:`FaceFolderDataset`'s.

    Item ``i`` draws, from ``(sample_seed, i)`` only, a person uniformly from
    ``identity_offset + [0, num_identities)``, an expression uniformly from ``expressions``
    and an intensity, and renders that face; so the dataset is the same in every epoch and
    worker, and a larger ``num_samples`` only adds items. Each item handed to the pipeline::

        img (S, S, 3) uint8 BGR, img_path ('synthface://<token>/<i>.png'), img_shape,
        ori_shape, sample_idx, keypoints (1, 68, 2) float32 (exact, pixels),
        keypoint_scores (1, 68) ones, keypoints_visible (1, 68) ones, has_landmarks True,
        gt_label (int, index into EXPRESSION_CLASSES), identity (int), intensity,
        valence, arousal (floats)

    The pipeline starts after image loading (as for ``FaceFolderDataset``). People are a
    function of ``seed`` (the generator seed): use another ``seed`` (or a disjoint
    ``identity_offset`` range) for evaluation people. A face takes a few milliseconds to
    render (``benchmarks/bench_synthetic.py`` measures it).

    Args:
        num_samples (int): Dataset length. Defaults to 10000.
        num_identities (int): Number of people. Defaults to 1000.
        identity_offset (int): First person id. Defaults to 0.
        expressions (Sequence[str | int], optional): Classes drawn (default all 8).
        intensity_range (tuple): Uniform range of the expression intensity.
            Defaults to (0.6, 1.0).
        image_size (int): Side in pixels. Defaults to 112.
        seed (int): Generator seed (what every person looks like). Defaults to 0.
        sample_seed (int, optional): Seed of the per-item draws; defaults to ``seed``.
        noise_std, pose_jitter, lighting (float): :class:`SyntheticFaceGenerator` nuisances.
        pipeline (Sequence): Transforms.
    """

    _kind = 'still'

    def __init__(self,
                 num_samples: int = 10000,
                 num_identities: int = 1000,
                 identity_offset: int = 0,
                 expressions: Optional[Sequence[Union[str, int]]] = None,
                 intensity_range: Sequence[float] = (0.6, 1.0),
                 image_size: int = 112,
                 seed: int = 0,
                 sample_seed: Optional[int] = None,
                 noise_std: float = 3.0,
                 pose_jitter: float = 1.0,
                 lighting: float = 0.2,
                 pipeline: Sequence[Union[dict, Callable]] = ()) -> None:
        if int(num_samples) < 1:
            raise ValueError(f'SyntheticFaceDataset: num_samples must be >= 1, got '
                             f'{num_samples}')
        self.num_samples = int(num_samples)
        self.intensity_range = _check_range('SyntheticFaceDataset: intensity_range',
                                            intensity_range, 0.0, 1.0)
        self.sample_seed = int(seed if sample_seed is None else sample_seed)
        super().__init__(image_size, seed, noise_std, pose_jitter, lighting, num_identities,
                         identity_offset, expressions, pipeline,
                         params=dict(intensity_range=self.intensity_range,
                                     sample_seed=self.sample_seed))

    def _make_source(self, generator_cfg: dict) -> _Source:
        return _StillSource(generator_cfg, self.draw)

    def __len__(self) -> int:
        return self.num_samples

    def draw(self, idx: int) -> dict:
        """The draws of item ``idx`` (no rendering): identity, gt_label, intensity,
        render_seed."""
        rng = np.random.default_rng([self.sample_seed, 7368787, int(idx)])
        identity = self.identity_offset + int(rng.integers(self.num_identities))
        label = self.classes[int(rng.integers(len(self.classes)))]
        intensity = float(rng.uniform(*self.intensity_range))
        return dict(identity=identity, gt_label=label, intensity=intensity,
                    render_seed=int(rng.integers(2**31 - 1)))

    def get_data_info(self, idx: int) -> dict:
        """Item ``idx`` without the image: img_path, sample_idx and the draws."""
        idx = self._check_index(idx)
        return dict(img_path=f'{URI_PREFIX}{self.token}/{idx}.png', sample_idx=idx,
                    **self.draw(idx))

    def prepare_data(self, idx: int) -> dict:
        info = self.get_data_info(idx)
        face = self.source.render(info['sample_idx'])
        k = NUM_FACE_LANDMARKS
        info.pop('render_seed')
        info.update(img=face['img'], img_shape=face['img'].shape[:2],
                    ori_shape=face['img'].shape[:2], keypoints=face['keypoints'][None],
                    keypoint_scores=np.ones((1, k), np.float32),
                    keypoints_visible=np.ones((1, k), np.float32), has_landmarks=True,
                    valence=face['valence'], arousal=face['arousal'])
        return self.pipeline(info)


# ----------------------------------------------------------------------------------- videos
class _VideoSource(_Source):

    def __init__(self, generator_cfg: dict, clip: Callable[[int], Tuple[int, int]],
                 plan_cfg: dict, cache_size: int = 64) -> None:
        super().__init__(generator_cfg)
        self.clip = clip
        self.plan_cfg = plan_cfg
        self.cache_size = int(cache_size)
        self._plans: 'OrderedDict[int, List[dict]]' = OrderedDict()

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state['_plans'] = OrderedDict()
        return state

    def plan(self, video: int) -> List[dict]:
        """The :meth:`SyntheticFaceGenerator.video_plan` of ``video`` (LRU-cached)."""
        plan = self._plans.get(video)
        if plan is None:
            identity, clip_seed = self.clip(video)
            plan = self.gen.video_plan(identity, seed=clip_seed, **self.plan_cfg)
            self._plans[video] = plan
            if len(self._plans) > self.cache_size:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(video)
        return plan

    def render_frame(self, video: int, frame: int) -> dict:
        identity, clip_seed = self.clip(video)
        return self.gen.render_frame(identity, self.plan(video)[frame], clip_seed, frame, video)

    def keypoints(self, video: int, frame: int) -> np.ndarray:
        return self.gen.frame_keypoints(self.clip(video)[0], self.plan(video)[frame])

    def render_item(self, item: str) -> np.ndarray:
        try:
            video, frame = item.rsplit('.', 1)[0].split('/')
            video, frame = int(video), int(frame)
        except ValueError:
            raise FileNotFoundError(f'{URI_PREFIX}...: bad video-frame item {item!r} '
                                    '(expected <video>/<frame>.png)') from None
        if not 0 <= frame < self.plan_cfg['num_frames']:
            raise FileNotFoundError(f'{URI_PREFIX}...{item}: frame {frame} outside the '
                                    f'clip (0-{self.plan_cfg["num_frames"] - 1})')
        return self.render_frame(video, frame)['img']


class _FramePaths:
    """``img_paths`` of a :class:`SyntheticFrameIndex`: URIs made on demand, not stored."""

    def __init__(self, token: str, video: np.ndarray, frame: np.ndarray) -> None:
        self.token, self.video, self.frame = token, video, frame

    def __len__(self) -> int:
        return len(self.video)

    def __getitem__(self, pos: int) -> str:
        return f'{URI_PREFIX}{self.token}/{int(self.video[pos])}/{int(self.frame[pos]):05d}.png'


@dataclass
class SyntheticFrameIndex(VideoFrameIndex):
    """A :class:`VideoFrameIndex` whose frames are rendered: paths are ``synthface://`` URIs
    and landmarks are computed (exact) on request instead of stored."""

    source: Optional[_VideoSource] = None

    def get_keypoints(self, pos: int) -> Optional[np.ndarray]:
        return self.source.keypoints(int(self.video[pos]), int(self.frame[pos]))


@DATASETS.register_module()
class SyntheticFaceVideoDataset(_SyntheticBase):
    """Synthetic talking-face clips rendered on the fly, items like :class:`VoxCelebFrames`'.

    ``num_identities`` people with ``videos_per_identity`` clips each of
    ``frames_per_video`` frames at ``fps``; in each clip the expression moves smoothly
    between random key expressions (:meth:`SyntheticFaceGenerator.render_video`). Video
    ``v`` is person ``identity_offset + v // videos_per_identity``. Each data item::

        img_path ('synthface://<token>/<video>/<frame>.png'), identity, video, frame,
        frame_pos (position in the frame index), gt_keypoints ((68, 2) float32, exact),
        gt_label (the frame's expression, index into EXPRESSION_CLASSES),
        frame_index (the shared SyntheticFrameIndex, attached by get_data_info)

    so the pipeline starts with ``LoadFaceImage`` and ``TimeAug`` / ``HardNeg`` /
    ``FaceSwap`` draw other frames of the index exactly as with :class:`VoxCelebFrames`.
    The default clips last 6 s at 25 fps, so every frame has a hard negative >= 3 s away
    (frames without one are counted and logged, as ``VoxCelebFrames`` does).

    Args:
        num_identities (int): Number of people. Defaults to 20.
        videos_per_identity (int): Clips per person. Defaults to 2.
        frames_per_video (int): Frames per clip. Defaults to 150 (6 s at 25 fps).
        fps (float): Frames per second of the frame numbers. Defaults to 25.
        anchor_stride (int): Every n-th frame of a clip is an item (all frames stay
            available to the view transforms). Defaults to 1.
        identity_offset (int): First person id. Defaults to 0.
        expressions (Sequence[str | int], optional): Key expressions (default all 8).
        segment_frames (tuple): (min, max) frames between two key expressions.
            Defaults to (12, 36).
        intensity_range (tuple): Intensity range of the key expressions.
            Defaults to (0.5, 1.0).
        hardneg_offset (float): Only for the start-up count of frames without a frame that
            far away in their clip. Defaults to 3.
        image_size (int): Side in pixels. Defaults to 112.
        seed (int): Generator seed (people) and clip seed. Defaults to 0.
        noise_std, pose_jitter, lighting (float): :class:`SyntheticFaceGenerator` nuisances.
        pipeline (Sequence): Transforms.
    """

    _kind = 'video'

    def __init__(self,
                 num_identities: int = 20,
                 videos_per_identity: int = 2,
                 frames_per_video: int = 150,
                 fps: float = 25.,
                 anchor_stride: int = 1,
                 identity_offset: int = 0,
                 expressions: Optional[Sequence[Union[str, int]]] = None,
                 segment_frames: Sequence[int] = (12, 36),
                 intensity_range: Sequence[float] = (0.5, 1.0),
                 hardneg_offset: float = 3.,
                 image_size: int = 112,
                 seed: int = 0,
                 noise_std: float = 3.0,
                 pose_jitter: float = 1.0,
                 lighting: float = 0.2,
                 pipeline: Sequence[Union[dict, Callable]] = ()) -> None:
        name = 'SyntheticFaceVideoDataset'
        if int(videos_per_identity) < 1 or int(frames_per_video) < 2:
            raise ValueError(f'{name}: need videos_per_identity >= 1 and frames_per_video >= '
                             f'2, got {videos_per_identity}, {frames_per_video}')
        if fps <= 0:
            raise ValueError(f'{name}: fps must be > 0, got {fps}')
        if int(anchor_stride) < 1:
            raise ValueError(f'{name}: anchor_stride must be >= 1, got {anchor_stride}')
        lo, hi = (int(v) for v in segment_frames)
        if not 1 <= lo <= hi:
            raise ValueError(f'{name}: segment_frames must be 1 <= min <= max, got '
                             f'{segment_frames}')
        self.videos_per_identity = int(videos_per_identity)
        self.frames_per_video = int(frames_per_video)
        self.fps = float(fps)
        self.anchor_stride = int(anchor_stride)
        self.hardneg_offset = float(hardneg_offset)
        self.plan_cfg = dict(num_frames=self.frames_per_video, segment_frames=(lo, hi),
                             intensity_range=_check_range(f'{name}: intensity_range',
                                                          intensity_range, 0.0, 1.0))
        super().__init__(image_size, seed, noise_std, pose_jitter, lighting, num_identities,
                         identity_offset, expressions, pipeline,
                         params=dict(self.plan_cfg, videos_per_identity=self.videos_per_identity,
                                     fps=self.fps))
        self.plan_cfg['expressions'] = self.classes
        self.source.plan_cfg = self.plan_cfg
        self.num_videos = self.num_identities * self.videos_per_identity
        self.frame_index = self._build_index()
        self.anchors = np.flatnonzero(self.frame_index.frame % self.anchor_stride == 0)
        self.num_without_hardneg = self._count_without_hardneg()
        if self.num_without_hardneg:
            print_log(f'{name}: {self.num_without_hardneg} of {len(self.frame_index)} frames '
                      f'have no frame >= {self.hardneg_offset:g} s away in their clip '
                      f'({self.frames_per_video} frames = '
                      f'{self.frames_per_video / self.fps:g} s; HardNeg skips them)',
                      logger='current', level=logging.INFO)

    def _make_source(self, generator_cfg: dict) -> _Source:
        return _VideoSource(generator_cfg, self.clip, {})

    def clip(self, video: int) -> Tuple[int, int]:
        """``(identity, clip seed)`` of global video ``video``."""
        if not 0 <= video < self.num_videos:
            raise FileNotFoundError(f'{type(self).__name__}: no video {video} (0-'
                                    f'{self.num_videos - 1})')
        return (self.identity_offset + video // self.videos_per_identity,
                (self.seed * 1_000_003 + video) % (2**31 - 1))

    def _build_index(self) -> SyntheticFrameIndex:
        v, f = self.num_videos, self.frames_per_video
        video = np.repeat(np.arange(v, dtype=np.int64), f)
        frame = np.tile(np.arange(f, dtype=np.int64), v)
        return SyntheticFrameIndex(
            img_paths=_FramePaths(self.token, video, frame),
            identity=self.identity_offset + video // self.videos_per_identity,
            video=video, frame=frame, video_start=np.arange(v, dtype=np.int64) * f,
            video_end=np.arange(1, v + 1, dtype=np.int64) * f, keypoints=None,
            has_keypoints=np.ones(v * f, bool), fps=self.fps, source=self.source)

    def _count_without_hardneg(self) -> int:
        t = np.arange(self.frames_per_video) / self.fps
        lone = (t - t[0] < self.hardneg_offset) & (t[-1] - t < self.hardneg_offset)
        return int(lone.sum()) * self.num_videos

    def __len__(self) -> int:
        return len(self.anchors)

    def get_data_info(self, idx: int) -> dict:
        pos = int(self.anchors[self._check_index(idx)])
        index = self.frame_index
        video, frame = int(index.video[pos]), int(index.frame[pos])
        return dict(img_path=index.img_paths[pos], sample_idx=int(idx),
                    identity=int(index.identity[pos]), video=video, frame=frame,
                    frame_pos=pos, gt_keypoints=self.source.keypoints(video, frame),
                    gt_label=int(self.source.plan(video)[frame]['gt_label']),
                    frame_index=index)

    def prepare_data(self, idx: int) -> dict:
        return self.pipeline(self.get_data_info(idx))
