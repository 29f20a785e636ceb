#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Pseudo-landmarks (68 points, iBUG 300-W order) for a folder of aligned face crops.

Default backend: batched top-down inference with mmpose's 300W HRNetV2-W18 model. Its
checkpoint comes from the OpenMMLab model zoo (the config's metafile ``hrnetv2_300w.yml``)::

    wget https://download.openmmlab.com/mmpose/face/hrnetv2/hrnetv2_w18_300w_256x256-eea53406_20211019.pth

Examples::

    python tools/landmarks/extract_landmarks.py data/faces --out data/faces/landmarks.npz \\
        --checkpoint hrnetv2_w18_300w_256x256-eea53406_20211019.pth --batch-size 64 --device cuda:0
    # MS1M as InsightFace RecordIO: keys 'train.rec#<record>' as MS1MRecordIO expects
    python tools/landmarks/extract_landmarks.py data/faces_emore/train.rec \\
        --out data/faces_emore/landmarks.npz --checkpoint CKPT --device cuda:0
    python tools/landmarks/extract_landmarks.py DATA_ROOT --out lm.npz --checkpoint CKPT --resume
    torchrun --nproc_per_node=8 tools/landmarks/extract_landmarks.py DATA_ROOT --out lm.npz \\
        --checkpoint CKPT --device cuda --launcher pytorch      # one shard per process
    python tools/landmarks/extract_landmarks.py DATA_ROOT --out lm.npz --backend dlib

DATA_ROOT is a folder (searched recursively; keys are paths relative to it) or an InsightFace
``.rec`` file (with its ``.idx``; keys ``<rec name>#<record key>``, as ``MS1MRecordIO`` uses).
The whole image is the face box unless ``--bbox-file`` gives ``relpath x1 y1 x2 y2`` lines.
The output is the shared landmark file (:mod:`mmfer.datasets.landmark_io`: image paths relative
to DATA_ROOT, keypoints (N, 68, 2) in image pixels, keypoint_scores (N, 68)), written
atomically. Progress is saved every ``--save-interval`` batches to ``<out>.part<rank>.npz``;
``--resume`` skips every image already in ``--out`` or in those part files.

``--backend dlib`` uses dlib's 68-point shape predictor (pip packages ``dlib-bin`` and
``face-recognition-models``, which ships ``shape_predictor_68_face_landmarks.dat``) on the
same boxes; it is CPU-only, cheaper and less accurate than HRNetV2, scores are 1.0.
"""
import argparse
import contextlib
import importlib.util
import os
import os.path as osp
import sys
import time
import types
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

import mmfer  # noqa: F401  (safe checkpoint loading)
from mmfer.datasets.face_folder import parse_image_list, scan_images
from mmfer.datasets.landmark_io import load_landmarks, save_landmarks

DEFAULT_CONFIG = osp.join(
    osp.dirname(importlib.util.find_spec('mmpose').origin), '.mim', 'configs',
    'face_2d_keypoint', 'topdown_heatmap', '300w',
    'td-hm_hrnetv2-w18_8xb64-60e_300w-256x256.py')
MODEL_ZOO_CHECKPOINT = ('https://download.openmmlab.com/mmpose/face/hrnetv2/'
                        'hrnetv2_w18_300w_256x256-eea53406_20211019.pth')
NUM_KEYPOINTS = 68


# --------------------------------------------------------------------------- mmpose model
def import_mmpose_inference():
    """``mmpose.apis.inference`` (``init_model``, ``inference_topdown``).

    ``import mmpose.apis`` also imports mmpose's inferencers, which call
    ``pkg_resources`` (removed from setuptools >= 81). When that fails, the ``mmpose.apis``
    package is registered without running its ``__init__`` and only ``inference`` is loaded.
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
    """
    from mmengine.registry import DefaultScope
    before = set(DefaultScope._instance_dict)
    try:
        yield
    finally:
        for name in list(DefaultScope._instance_dict):
            if name not in before:
                DefaultScope._instance_dict.pop(name)


def build_topdown_model(config: str, checkpoint: Optional[str], device: str,
                        random_weights_for_testing: bool = False) -> torch.nn.Module:
    """An mmpose top-down model in eval mode (random weights only when explicitly asked)."""
    if not osp.isfile(config):
        raise FileNotFoundError(f'mmpose config {config} does not exist')
    if checkpoint is None or str(checkpoint).lower() == 'none':
        if not random_weights_for_testing:
            raise ValueError(
                'no --checkpoint: download the 300W HRNetV2-W18 checkpoint from the OpenMMLab '
                f'model zoo ({MODEL_ZOO_CHECKPOINT}) and pass its path; `--checkpoint none` is '
                'only allowed together with --random-weights-for-testing')
        bar = '!' * 78
        print(f'{bar}\n!! WARNING: --random-weights-for-testing: the landmark model has RANDOM '
              f'weights.\n!! The landmarks written are MEANINGLESS; use this for tests only.\n'
              f'{bar}', file=sys.stderr, flush=True)
        checkpoint = None
    elif '://' not in str(checkpoint) and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist (the model-zoo '
                                f'checkpoint is {MODEL_ZOO_CHECKPOINT})')
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


class TopdownBatchPredictor:
    """Batched version of mmpose's ``inference_topdown`` for one box per image.

    The same test pipeline, meta information, data preprocessor and ``predict`` (flip test,
    heatmap decoding) as ``inference_topdown``, but:

    - the pipeline runs in DataLoader workers and the network sees ``batch_size`` faces per
      forward pass;
    - by default the model's Conv+BN pairs are fused (``mmcv.cnn.fuse_conv_bn``, the same
      function up to float rounding) and it runs in ``channels_last`` memory format, which
      oneDNN's CPU convolutions prefer for batches.

    ``benchmarks/bench_landmarks.py`` checks the landmarks against ``inference_topdown``.

    Args:
        model: An mmpose top-down model from :func:`build_topdown_model` (not modified).
        fuse_conv_bn (bool): Fuse Conv+BN. Defaults to True.
        channels_last (bool): Use the channels-last memory format. Defaults to True.
    """

    def __init__(self, model: torch.nn.Module, fuse_conv_bn: bool = True,
                 channels_last: bool = True) -> None:
        import copy

        from mmengine.dataset import Compose
        from mmengine.registry import DefaultScope
        self.source_model = model
        with DefaultScope.overwrite_default_scope(model.cfg.get('default_scope', 'mmpose')):
            self.pipeline = Compose(model.cfg.test_dataloader.dataset.pipeline)
        if fuse_conv_bn or channels_last:
            model = copy.deepcopy(model).eval()
        if fuse_conv_bn:
            from mmcv.cnn import fuse_conv_bn as _fuse
            model = _fuse(model)
        self.channels_last = channels_last
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model

    def prepare(self, img: np.ndarray, bbox: Optional[np.ndarray] = None) -> dict:
        """Pipeline output for one (H, W, 3) BGR image and an optional xyxy box."""
        if bbox is None:
            h, w = img.shape[:2]
            bbox = np.array([0, 0, w, h], dtype=np.float32)
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
        results = self.model(inputs, batch['data_samples'], mode='predict')
        kpts = np.stack([r.pred_instances.keypoints[0] for r in results]).astype(np.float32)
        scores = np.stack([r.pred_instances.keypoint_scores[0] for r in results])
        return kpts, scores.astype(np.float32)


# --------------------------------------------------------------------------- dlib backend
def dlib_model_path() -> Optional[str]:
    """``shape_predictor_68_face_landmarks.dat`` of ``face-recognition-models``, if installed."""
    spec = importlib.util.find_spec('face_recognition_models')
    if spec is None or not spec.submodule_search_locations:
        return None
    path = osp.join(list(spec.submodule_search_locations)[0], 'models',
                    'shape_predictor_68_face_landmarks.dat')
    return path if osp.isfile(path) else None


class DlibPredictor:
    """dlib's 68-point shape predictor on the given boxes (whole image by default)."""

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as e:
            raise ImportError('--backend dlib needs `pip install dlib-bin`') from e
        path = dlib_model_path()
        if path is None:
            raise ImportError('--backend dlib needs the 68-point model: `pip install '
                              'face-recognition-models` (ships '
                              'shape_predictor_68_face_landmarks.dat)')
        self.dlib = dlib
        self.predictor = dlib.shape_predictor(path)

    def prepare(self, img: np.ndarray, bbox: Optional[np.ndarray] = None) -> dict:
        return dict(img=np.ascontiguousarray(img[..., ::-1]), bbox=bbox)  # dlib wants RGB

    def predict(self, data: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
        kpts = []
        for d in data:
            img = d['img']
            h, w = img.shape[:2]
            x1, y1, x2, y2 = (0, 0, w, h) if d['bbox'] is None else d['bbox']
            rect = self.dlib.rectangle(int(round(x1)), int(round(y1)),
                                       int(round(x2)) - 1, int(round(y2)) - 1)
            shape = self.predictor(img, rect)
            kpts.append([(shape.part(i).x, shape.part(i).y) for i in range(NUM_KEYPOINTS)])
        kpts = np.asarray(kpts, dtype=np.float32).reshape(-1, NUM_KEYPOINTS, 2)
        return kpts, np.ones(kpts.shape[:2], np.float32)


# --------------------------------------------------------------------------- data
def read_bbox_file(path: str) -> Dict[str, np.ndarray]:
    """``relpath x1 y1 x2 y2`` lines -> {relpath: (4,) xyxy}; errors name file and line."""
    boxes = {}
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            parts = line.replace(',', ' ').split()
            try:
                if len(parts) != 5:
                    raise ValueError
                box = np.array([float(v) for v in parts[1:]], np.float32)
            except ValueError:
                raise ValueError(f'{path}:{lineno}: expected "relpath x1 y1 x2 y2", '
                                 f'got {line!r}') from None
            if not (box[2] > box[0] and box[3] > box[1]):
                raise ValueError(f'{path}:{lineno}: empty box {box.tolist()}')
            boxes[parts[0]] = box
    return boxes


class _Images(torch.utils.data.Dataset):
    """Decodes images and runs the predictor's ``prepare`` (in DataLoader workers).

    ``root`` is a folder (``rel_paths`` relative to it) or, with ``reader``, a ``.rec`` file
    whose images are keyed ``<rec name>#<record key>``.
    """

    def __init__(self, root: str, rel_paths: Sequence[str], boxes: Dict[str, np.ndarray],
                 predictor, reader=None) -> None:
        self.root, self.rel_paths, self.boxes, self.predictor = root, rel_paths, boxes, predictor
        self.reader = reader

    def __len__(self) -> int:
        return len(self.rel_paths)

    def __getitem__(self, i: int):
        rel = self.rel_paths[i]
        if self.reader is not None:
            from mmfer.datasets.recordio import unpack
            from mmfer.datasets.transforms import decode_image
            path = f'{self.root} record {rel.rsplit("#", 1)[-1]}'
            try:
                buf = unpack(self.reader.read_idx(int(rel.rsplit('#', 1)[-1])))[1]
                img = decode_image(buf, path)
            except (ValueError, KeyError) as e:
                return rel, None, f'cannot read {path}: {e}'
        else:
            path = osp.join(self.root, rel)
            img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            return rel, None, f'cannot read image {path} (missing or corrupt)'
        return rel, self.predictor.prepare(img, self.boxes.get(rel)), None


def _collate(batch):
    return batch


def part_path(out: str, rank: int) -> str:
    return f'{out}.part{rank}.npz'


def _existing_parts(out: str) -> List[str]:
    folder = osp.dirname(osp.abspath(out))
    prefix = osp.basename(out) + '.part'
    return sorted(osp.join(folder, f) for f in os.listdir(folder)
                  if f.startswith(prefix) and f.endswith('.npz'))


def load_done(out: str) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Landmarks already extracted: ``--out`` plus any part files of an interrupted run."""
    done: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
    for path in ([out] if osp.isfile(out) else []) + _existing_parts(out):
        done.update(load_landmarks(path, NUM_KEYPOINTS))
    return done


def save_table(path: str, table: Dict[str, Tuple[np.ndarray, np.ndarray]],
               order: Optional[Sequence[str]] = None) -> None:
    keys = [k for k in order if k in table] if order is not None else sorted(table)
    keys += sorted(set(table) - set(keys))
    kpts = (np.stack([table[k][0] for k in keys]) if keys
            else np.zeros((0, NUM_KEYPOINTS, 2), np.float32))
    scores = (np.stack([table[k][1] for k in keys]) if keys
              else np.zeros((0, NUM_KEYPOINTS), np.float32))
    save_landmarks(path, keys, kpts, scores)


# --------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Extract 68 face landmarks for a folder of faces')
    p.add_argument('data_root', help='folder of aligned face crops (searched recursively) or '
                   'an InsightFace .rec file')
    p.add_argument('--out', required=True, help='output landmark .npz')
    p.add_argument('--list', help='optional image list (MS1M-style lines), relative paths')
    p.add_argument('--bbox-file', help='optional "relpath x1 y1 x2 y2" lines')
    p.add_argument('--backend', choices=['mmpose', 'dlib'], default='mmpose')
    p.add_argument('--config', default=DEFAULT_CONFIG,
                   help='mmpose top-down config (default: the 300W HRNetV2-W18 shipped with '
                   'mmpose)')
    p.add_argument('--checkpoint', help=f'local path or URL (model zoo: {MODEL_ZOO_CHECKPOINT})'
                   '; "none" only with --random-weights-for-testing')
    p.add_argument('--random-weights-for-testing', action='store_true',
                   help='allow --checkpoint none (random weights, meaningless landmarks)')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--num-workers', type=int, default=2)
    p.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    p.add_argument('--resume', action='store_true',
                   help='skip images already in --out or in its part files')
    p.add_argument('--save-interval', type=int, default=20,
                   help='save progress every N batches')
    p.add_argument('--max-images', type=int, default=None,
                   help='stop after this many new images (this process)')
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                   help='pytorch: one shard per torchrun process')
    return p.parse_args(argv)


def _dist_setup(args) -> Tuple[int, int, str]:
    device = args.device
    if args.launcher == 'none':
        return 0, 1, device
    from mmengine.dist import get_dist_info, init_dist
    if device.startswith('cuda'):
        init_dist('pytorch', backend='nccl')
    else:  # mmengine's init_dist calls torch.cuda.set_device: plain gloo group on CPU
        import torch.distributed as torch_dist
        torch_dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                      world_size=int(os.environ['WORLD_SIZE']))
    rank, world = get_dist_info()
    if device.startswith('cuda'):
        device = f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
    return rank, world, device


def _barrier(world: int) -> None:
    if world > 1:
        from mmengine.dist import barrier
        barrier()


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.batch_size < 1:
        raise ValueError('--batch-size must be >= 1')
    rank, world, device = _dist_setup(args)
    root = args.data_root
    reader = None
    if root.endswith('.rec'):
        from mmfer.datasets.recordio import RecordIOReader, insightface_image_keys
        reader = RecordIOReader(root)
        rel_paths = [f'{osp.basename(root)}#{k}' for k in insightface_image_keys(reader)]
    elif args.list:
        rel_paths = [p for p, _ in parse_image_list(args.list)]
    else:
        rel_paths = scan_images(root)
    if not rel_paths:
        raise ValueError(f'no images found in {args.list or root}')
    boxes = read_bbox_file(args.bbox_file) if args.bbox_file else {}

    if osp.isfile(args.out) or _existing_parts(args.out):
        if not args.resume:
            raise FileExistsError(f'{args.out} (or its part files) exists: pass --resume to '
                                  'continue, or remove it')
    done = load_done(args.out) if args.resume else {}
    todo = [p for p in rel_paths if p not in done]
    shard = todo[rank::world]
    if rank == 0:
        print(f'{len(rel_paths)} images, {len(rel_paths) - len(todo)} already done, '
              f'{len(todo)} to do on {world} process(es)', flush=True)
    if args.max_images is not None:
        shard = shard[:args.max_images]

    if args.backend == 'mmpose':
        model = build_topdown_model(args.config, args.checkpoint, device,
                                    args.random_weights_for_testing)
        predictor = TopdownBatchPredictor(model)
    else:
        predictor = DlibPredictor()

    part = part_path(args.out, rank)
    mine = load_landmarks(part, NUM_KEYPOINTS) if osp.isfile(part) else {}
    loader = torch.utils.data.DataLoader(
        _Images(root, shard, boxes, predictor, reader), batch_size=args.batch_size,
        shuffle=False,
        num_workers=args.num_workers, collate_fn=_collate)
    failures = []
    from tqdm import tqdm
    bar = tqdm(total=len(shard), desc=f'landmarks[{rank}]', disable=rank != 0 and world > 1,
               file=sys.stdout, mininterval=1.0)
    t0 = time.time()
    for b, batch in enumerate(loader):
        ok = [(rel, data) for rel, data, err in batch if err is None]
        failures += [err for _, _, err in batch if err is not None]
        if ok:
            kpts, scores = predictor.predict([d for _, d in ok])
            for (rel, _), k, s in zip(ok, kpts, scores):
                mine[rel] = (k, s)
        bar.update(len(batch))
        if (b + 1) % args.save_interval == 0:
            save_table(part, mine)
    bar.close()
    save_table(part, mine)
    elapsed = time.time() - t0
    print(f'[rank {rank}] {len(shard) - len(failures)} images in {elapsed:.1f}s '
          f'({(len(shard) - len(failures)) / max(elapsed, 1e-9):.2f} images/s), '
          f'{len(failures)} unreadable', flush=True)
    for err in failures[:20]:
        print(f'[rank {rank}] {err}', file=sys.stderr)

    _barrier(world)
    if rank == 0:
        table = load_done(args.out)
        save_table(args.out, table, order=rel_paths)
        for p in _existing_parts(args.out):
            os.remove(p)
        missing = len([p for p in rel_paths if p not in table])
        print(f'wrote {args.out}: {len(table)} images with landmarks'
              + (f', {missing} without (unreadable or not processed yet)' if missing else ''),
              flush=True)
    _barrier(world)
    return 0 if not failures else 2


if __name__ == '__main__':
    sys.exit(main())
