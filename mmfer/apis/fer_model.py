# Copyright (c) mmfer contributors. All rights reserved.
"""A config + checkpoint for inference: the model, its task, its output names, its face crop.

What a model predicts (its *task*, :func:`model_task`) follows from its head:

==============  ================================================  ==============================
task            model                                             per-face output
==============  ================================================  ==============================
``expression``  ``ImageClassifier`` + single-label head           ``scores`` (C,) softmax,
                (RAF-DB 7, AffectNet 7/8, Aff-Wild2 8, FER2013 7)  ``pred_label``, ``pred_class``
``va``          ``ImageClassifier`` + ``VARegressionHead``         ``valence``, ``arousal``
``au``          ``ImageClassifier`` + multi-label head (AUs)       ``scores`` (C,) sigmoid,
                                                                   ``active`` (C,) bool
``embedding``   anything else (self-supervised checkpoints)        ``embedding`` (D,)
==============  ================================================  ==============================

Embeddings are ``pool_features(model.extract_feat(x))``, the features mmfer's frozen-feature
evaluation uses: the global average pool of the backbone for self-supervised configs (built as
:func:`~mmfer.evaluation.backbone_model_cfg`), the neck's output for classifiers.

Which crop the model gets (:func:`face_preparation`), in this order:

1. ``template=`` given: the face is aligned onto it (a name of
   :data:`~mmfer.datasets.transforms.FACE_TEMPLATES` or ``dict(points, size)``);
2. the test pipeline has ``AlignFace`` (it aligns the full frame from the detector's 5
   points) or ``CropFaceBox`` (it crops the detector's box, as AffectNet's CSV boxes are
   cropped in training);
3. the config's ``face_template`` key;
4. the default of the config's dataset (:data:`DATASET_FACES`: RAF-DB ``rafdb_100``, Aff-Wild2
   ``affwild2_112``, FER2013 ArcFace points at 48 px in grey, MS1M / VoxCeleb / face folders
   ``arcface_112``), else ``arcface_112`` (logged).

Then the config's test pipeline (``test_dataloader.dataset.pipeline``, else ``test_pipeline``)
runs on the crop without its image loader; a config without one (pre-training configs) gets
``Resize`` to the size its training pipeline crops to, then ``PackInputs``.
"""
import copy
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

TASKS = ('expression', 'va', 'au', 'embedding')

#: The face crop each dataset's images are (``template``, ``output_size``; ``gray``: the
#: dataset is greyscale, colour faces are converted). The templates of RAF-DB and Aff-Wild2
#: are *assumed* (see :mod:`mmfer.datasets.transforms.align_face`); FER2013's 48x48 faces are
#: "more or less centred" by its authors, we assume ArcFace's points scaled to 48 px.
#: AffectNet configs crop the face box (``CropFaceBox`` in their test pipeline) instead.
DATASET_FACES: Dict[str, dict] = {
    'RAFDB': dict(template='rafdb_100'),
    'AffWild2Expr': dict(template='affwild2_112'),
    'AffWild2VA': dict(template='affwild2_112'),
    'AffWild2AU': dict(template='affwild2_112'),
    'FER2013': dict(template='arcface_112', output_size=48, gray=True),
    'MS1MRecordIO': dict(template='arcface_112'),
    'FaceFolderDataset': dict(template='arcface_112'),
    'VoxCelebFrames': dict(template='arcface_112'),
}
DEFAULT_TEMPLATE = 'arcface_112'
#: ``detector='dlib'`` means this: dlib's HOG detector fires at score ~0.1 on non-faces (the
#: astronaut's suit) while faces score > 1, so the inferencer keeps faces scoring >= 0.5.
DEFAULT_DETECTORS = {'dlib': dict(type='dlib', score_thr=0.5)}
_LOADERS = ('LoadFaceImage', 'LoadImageFromFile')
_FACE_STEPS = ('AlignFace', 'CropFaceBox')


def detector_cfg(name: Optional[str], score_thr: Optional[float] = None):
    """The detector of a command line: a name (``'none'`` -> None: inputs are face crops)
    and an optional score threshold (else :data:`DEFAULT_DETECTORS`' or the backend's)."""
    if name is None or name == 'none':
        return None
    cfg = dict(DEFAULT_DETECTORS.get(name, dict(type=name)))
    if score_thr is not None:
        cfg['score_thr'] = float(score_thr)
    return cfg


def _type_name(step: dict) -> str:
    return str(step.get('type', '')).split('.')[-1] if isinstance(step, dict) else \
        type(step).__name__


# ----------------------------------------------------------------------- model
def model_task(model: nn.Module) -> str:
    """The task of a model (see the module docstring): its head decides."""
    from mmpretrain.models import ImageClassifier
    from mmpretrain.models.heads import ClsHead, MultiLabelClsHead

    from mmfer.models.heads import VARegressionHead
    head = getattr(model, 'head', None)
    if not isinstance(model, ImageClassifier) or head is None:
        return 'embedding'
    if isinstance(head, VARegressionHead):
        return 'va'
    if isinstance(head, MultiLabelClsHead):
        return 'au'
    if isinstance(head, ClsHead):
        return 'expression'
    return 'embedding'


def load_fer_model(config: Union[str, Config], checkpoint: Optional[str] = None,
                   device: str = 'cpu', cfg_options: Optional[dict] = None,
                   task: Optional[str] = None) -> nn.Module:
    """Build ``config``'s model for inference and load ``checkpoint`` into it.

    Classifier configs (expression / VA / AU heads) are built as they are and must find every
    weight in the checkpoint; other models (self-supervised algorithms) become
    "backbone + global average pooling" (:func:`~mmfer.evaluation.backbone_model_cfg`) and
    need every backbone weight (``backbone.*`` keys, or the config's ``load_from_prefix``).
    Weights go through :func:`mmfer.models.utils.load_model_weights` (the checkpoint is read
    with mmfer's safe loader).

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Weights; None keeps the random initialisation (a warning
            says so).
        device (str): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config.
        task (str, optional): Force ``'embedding'`` for a classifier (its neck's output).

    Returns:
        nn.Module: the model in eval mode, with ``cfg``, ``fer_task`` and ``dataset_meta``
        (the checkpoint's ``meta.dataset_meta``, e.g. its class names; ``{}`` without one).
    """
    from mmfer.apis.deployment import init_model
    from mmfer.evaluation.features import backbone_model_cfg
    from mmfer.models.utils import load_model_weights
    from mmfer.registry import MODELS
    from mmfer.utils import extract_state_dict, load_checkpoint_file
    if task is not None and task not in TASKS:
        raise ValueError(f'task must be one of {TASKS} or None, got {task!r}')
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    model = init_model(cfg, None, 'cpu')
    found = model_task(model)
    if task is None:
        task = found
    elif task != 'embedding' and task != found:
        raise ValueError(f'{getattr(cfg, "filename", "the config")}: its model predicts '
                         f'{found!r}, not {task!r}')
    if found == 'embedding' and getattr(model, 'head', None) is not None:
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmfer')):
            model = MODELS.build(backbone_model_cfg(cfg))
    meta: dict = {}
    if checkpoint is not None:
        ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
        load_model_weights(model, extract_state_dict(ckpt, checkpoint),
                           source=f'checkpoint {checkpoint}',
                           prefix=cfg.get('load_from_prefix', 'backbone.'), require_all=True)
        if isinstance(ckpt, dict) and isinstance(ckpt.get('meta'), dict):
            meta = dict(ckpt['meta'].get('dataset_meta') or {})
    else:
        warnings.warn(f'{type(model).__name__}: no checkpoint given, the model keeps its '
                      'random initialisation: its outputs mean nothing')
    model.cfg = cfg
    model.fer_task = task
    model.dataset_meta = meta
    return model.to(device).eval()


def _dataset_cfg(cfg: Config) -> dict:
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        loader = cfg.get(key)
        if isinstance(loader, dict) and isinstance(loader.get('dataset'), dict):
            ds = loader['dataset']
            # wrappers (RepeatDataset, ConcatDataset ...) hold the real one
            while isinstance(ds.get('dataset'), dict):
                ds = ds['dataset']
            return ds
    return {}


def output_names(model: nn.Module, task: Optional[str] = None) -> Optional[List[str]]:
    """Names of a model's outputs: class / AU names, ``['valence', 'arousal']``, or None.

    Taken from the checkpoint's ``dataset_meta`` (``classes`` / ``au_names``), else from the
    config (the AU evaluator's or dataset's ``au_names``), else from the config's dataset
    class (``METAINFO``); ``class0``... when none has the head's number of outputs.
    """
    from mmfer.registry import DATASETS
    task = task or getattr(model, 'fer_task', None) or model_task(model)
    if task == 'embedding':
        return None
    if task == 'va':
        return ['valence', 'arousal']
    head = model.head
    num = int(getattr(head, 'num_classes', 0))
    meta = getattr(model, 'dataset_meta', None) or {}
    cfg = getattr(model, 'cfg', None) or Config()
    ds_cfg = _dataset_cfg(cfg)
    keys = ('au_names', 'classes') if task == 'au' else ('classes', )
    candidates = [meta.get(k) for k in keys]
    if task == 'au':
        evaluators = cfg.get('test_evaluator') or cfg.get('val_evaluator') or []
        evaluators = evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]
        candidates += [e.get('au_names') for e in evaluators if isinstance(e, dict)]
        candidates.append(ds_cfg.get('au_names'))
    ds_type = str(ds_cfg.get('type', '')).split('.')[-1]
    ds_class = DATASETS.get(ds_type) if ds_type else None
    if ds_class is not None:
        metainfo = getattr(ds_class, 'METAINFO', {}) or {}
        if num and hasattr(ds_class, f'METAINFO_{num}'):  # AffectNet: 7 or 8 classes
            metainfo = getattr(ds_class, f'METAINFO_{num}')
        candidates += [metainfo.get(k) for k in keys]
    for names in candidates:
        if names is not None and len(names) == num:
            return [str(n) for n in names]
    print_log(f'no {num} class names for the {type(head).__name__} in the checkpoint or the '
              f'config ({ds_type or "no dataset"}); naming them class0..class{num - 1}',
              logger='current', level=30)
    return [f'class{i}' for i in range(num)]


# ----------------------------------------------------------------------- faces
def _train_crop_size(cfg: Config) -> Optional[int]:
    """The size a config's training pipeline crops to (``crop_size`` / ``scale``)."""
    ds = _dataset_cfg(cfg)
    found: List[int] = []

    def visit(obj):
        if isinstance(obj, dict):
            name = _type_name(obj)
            for key in ('crop_size', 'scale'):
                v = obj.get(key)
                if name.endswith(('Crop', 'Resize')) and isinstance(v, int):
                    found.append(v)
                elif name.endswith(('Crop', 'Resize')) and isinstance(v, (list, tuple)) \
                        and len(v) == 2 and all(isinstance(x, int) for x in v):
                    found.append(int(v[0]))
            for v in obj.values():
                visit(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                visit(v)

    visit(ds.get('pipeline', cfg.get('train_pipeline', [])))
    return found[-1] if found else None


def face_preparation(cfg: Config, template: Union[str, dict, None] = None,
                     aligned_inputs: bool = False,
                     pipeline: Optional[Sequence[dict]] = None) -> dict:
    """How faces reach a config's model (the order of the module docstring).

    Returns:
        dict: ``mode`` (``'align'``: we align onto ``template``; ``'pipeline'``: the test
        pipeline aligns / crops from the detector's points / box; ``'none'``: the inputs are
        face crops already), ``template``, ``output_size``, ``gray``, ``source`` (why) and
        ``pipeline`` (the test pipeline config without its image loader).
    """
    if pipeline is None:
        pipeline = _dataset_cfg(cfg).get('pipeline') if cfg.get('test_dataloader') else None
        pipeline = pipeline or cfg.get('test_pipeline')
    steps = [s for s in copy.deepcopy(list(pipeline or [])) if _type_name(s) not in _LOADERS]
    ds_type = str(_dataset_cfg(cfg).get('type', '')).split('.')[-1]
    defaults = DATASET_FACES.get(ds_type, {})
    out = dict(mode='align', template=template, output_size=None,
               gray=bool(defaults.get('gray', False)), source='template argument')
    face_steps = [_type_name(s) for s in steps if _type_name(s) in _FACE_STEPS]
    if aligned_inputs:
        out.update(mode='none', template=None, source='inputs are face crops (no detector)')
    elif template is None and face_steps:
        out.update(mode='pipeline', source=f'the test pipeline\'s {face_steps[0]}')
    elif template is None and cfg.get('face_template') is not None:
        out.update(template=cfg.face_template, source='the config\'s face_template')
    elif template is None and defaults:
        out.update(template=defaults['template'], output_size=defaults.get('output_size'),
                   source=f'the default of {ds_type}')
    elif template is None:
        out.update(template=DEFAULT_TEMPLATE,
                   source=f'no face template known for {ds_type or "this config"}; '
                   f'the default {DEFAULT_TEMPLATE}')
    if out['mode'] != 'pipeline':
        steps = [s for s in steps if _type_name(s) not in _FACE_STEPS]
    if not any(_type_name(s).startswith('Pack') for s in steps):
        if out['template'] is not None:
            from mmfer.datasets.transforms import get_face_template
            size = get_face_template(out['template'], out['output_size'])[1]
        else:
            size = None
        crop = _train_crop_size(cfg)
        steps = ([dict(type='Resize', scale=(crop, crop))] if crop else []) + steps + \
            [dict(type='PackInputs')]
        out['source'] += (f'; no test pipeline: Resize to the training crop {crop} px'
                          if crop else f'; no test pipeline: the aligned crop {size}')
    out['pipeline'] = steps
    return out


__all__ = ['TASKS', 'DATASET_FACES', 'DEFAULT_TEMPLATE', 'DEFAULT_DETECTORS', 'detector_cfg',
           'model_task', 'load_fer_model', 'output_names', 'face_preparation']
