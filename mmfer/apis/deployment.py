# Copyright (c) mmfer contributors. All rights reserved.
"""Build a model from a config, export its tensor path to ONNX / TorchScript, count FLOPs.

Two exportable parts of any mmfer / mmpretrain model (:class:`ExportModel`):

- ``'classifier'``: ``backbone -> neck -> head``, the head's raw output
  (``model(x, mode='tensor')`` of mmpretrain's ``ImageClassifier``): expression logits (apply
  softmax for probabilities), valence/arousal (already tanh-ed by ``VARegressionHead``) or
  AU logits (apply sigmoid);
- ``'features'``: ``backbone -> global average pooling``, the embedding mmfer's k-NN / linear
  evaluation uses (any config with a backbone, self-supervised ones included).

The exported graph takes the *normalised* RGB batch the model's data preprocessor produces,
(N, 3, H, W) float32, with a dynamic batch size; :func:`preprocess_info` (written next to the
file as ``<file>.json`` by the export tools) says how to make it from a BGR uint8 image.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

from mmfer.evaluation.features import pool_features
from mmfer.registry import MODELS

PARTS = ('classifier', 'features')
#: What ``pip install -e .[deploy]`` installs; named by the errors below.
DEPLOY_INSTALL_HINT = '`pip install -e .[deploy]` (onnx, onnxscript, onnxruntime)'


def init_model(config: Union[str, Config], checkpoint: Optional[str] = None,
               device: str = 'cpu', cfg_options: Optional[dict] = None,
               strict: bool = True) -> nn.Module:
    """Build ``config``'s model under mmfer's scope, load ``checkpoint``, set eval mode.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Weights, read with mmfer's safe loader
            (``weights_only=True``); None keeps the random initialisation (e.g. to check an
            export); the config's ``init_cfg`` checkpoints are *not* loaded.
        device (str): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config.
        strict (bool): Every model weight must be in the checkpoint and vice versa.

    Returns:
        nn.Module: the model, with the config as ``model.cfg``.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config.copy()
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise KeyError(f'{getattr(cfg, "filename", config)} has no `model` section')
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmfer')):
        model = MODELS.build(model_cfg)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=strict,
                        revise_keys=[(r'^module\.', '')])
    model.cfg = cfg
    return model.to(device).eval()


class ExportModel(nn.Module):
    """The tensor-in / tensor-out part of a model that is exported (see the module doc).

    Args:
        model (nn.Module): An mmfer / mmpretrain model (``backbone``, optional ``neck`` and
            ``head``, ``extract_feat``).
        part (str): ``'classifier'`` or ``'features'``.

    Shapes: (N, 3, H, W) normalised float input -> (N, C_out) (or a tuple of them).
    """

    def __init__(self, model: nn.Module, part: str = 'classifier') -> None:
        super().__init__()
        if part not in PARTS:
            raise ValueError(f'part must be one of {PARTS}, got {part!r}')
        if not hasattr(model, 'backbone'):
            raise ValueError(f'{type(model).__name__} has no backbone to export')
        head = getattr(model, 'head', None)
        # self-supervised heads (losses) have no forward: nothing to export there
        if part == 'classifier' and (head is None or not hasattr(model, 'extract_feat')
                                     or type(head).forward is nn.Module.forward):
            raise ValueError(
                f'{type(model).__name__} has no classifier head (backbone -> neck -> head); '
                "export part='features' (backbone + global average pooling) instead")
        self.part = part
        if part == 'features':  # only the backbone: parameter counts must not include heads
            self.backbone = model.backbone
        else:
            self.model = model
        self.eval()

    def forward(self, inputs: torch.Tensor) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        if self.part == 'features':
            return pool_features(self.backbone(inputs))
        return self.model.head(self.model.extract_feat(inputs))


def output_names(outputs: Union[torch.Tensor, Sequence[torch.Tensor]], part: str) -> List[str]:
    """``['logits']`` / ``['features']``, or numbered names for several outputs."""
    base = 'features' if part == 'features' else 'output'
    if isinstance(outputs, torch.Tensor):
        return [base]
    return [f'{base}{i}' for i in range(len(outputs))]


def preprocess_info(model: nn.Module, input_size: Tuple[int, int], part: str,
                    outputs: Sequence[str]) -> Dict:
    """How to feed the exported graph: size, mean/std and channel order of its input."""
    pre = getattr(model, 'data_preprocessor', None)
    mean = getattr(pre, 'mean', None)
    std = getattr(pre, 'std', None)
    return dict(
        part=part, input='input', outputs=list(outputs),
        input_shape=['N', 3, int(input_size[0]), int(input_size[1])],
        # mmpretrain / mmengine preprocessors: (img[..., ::-1] if to_rgb) - mean) / std
        bgr_to_rgb=bool(getattr(pre, 'to_rgb', getattr(pre, '_channel_conversion', False))),
        mean=None if mean is None else mean.flatten().tolist(),
        std=None if std is None else std.flatten().tolist(),
        note=('head outputs are raw: softmax for expression probabilities, sigmoid for AU '
              'probabilities' if part == 'classifier' else 'backbone + global average pooling'))


def _dummy(input_size: Tuple[int, int], batch: int, device) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(batch, 3, *input_size, generator=g).to(device)


def export_onnx(module: ExportModel, path: str, input_size: Tuple[int, int] = (224, 224),
                opset: int = 18, dynamo: bool = True) -> List[str]:
    """Export ``module`` to ONNX with a dynamic batch dimension; returns the output names.

    Args:
        dynamo (bool): torch's ``torch.export``-based exporter (needs ``onnxscript``;
            default, as in torch >= 2.9) or the deprecated TorchScript-based one (False).
    """
    device = next(module.parameters()).device
    x = _dummy(input_size, 2, device)
    with torch.no_grad():
        names = output_names(module(x), module.part)
    kwargs = dict(input_names=['input'], output_names=names, opset_version=opset)
    if dynamo:
        try:
            import onnxscript  # noqa: F401
        except ImportError as e:
            raise ImportError(f'the ONNX exporter needs onnxscript: {DEPLOY_INSTALL_HINT}, '
                              'or pass --legacy-exporter') from e
        kwargs['dynamic_shapes'] = {'inputs': {0: torch.export.Dim('batch')}}
    else:
        kwargs['dynamic_axes'] = {n: {0: 'batch'} for n in ['input'] + names}
    with torch.no_grad():
        torch.onnx.export(module, (x, ), path, dynamo=dynamo, **kwargs)
    return names


def export_torchscript(module: ExportModel, path: str,
                       input_size: Tuple[int, int] = (224, 224)) -> None:
    """Trace ``module`` with ``torch.jit.trace`` and save it (load with ``torch.jit.load``)."""
    x = _dummy(input_size, 2, next(module.parameters()).device)
    with torch.no_grad():
        traced = torch.jit.trace(module, x, check_trace=False)
    traced.save(path)


def _as_list(out) -> List[np.ndarray]:
    outs = [out] if isinstance(out, torch.Tensor) else list(out)
    return [o.detach().cpu().numpy() for o in outs]


def compare_exported(module: ExportModel, path: str, input_size: Tuple[int, int] = (224, 224),
                     batch: int = 3) -> float:
    """Max abs difference between ``module`` and its export at ``path`` (.onnx: onnxruntime,
    else TorchScript) on a random batch of ``batch`` (not the traced batch of 2)."""
    x = _dummy(input_size, batch, next(module.parameters()).device) * 1.5
    with torch.no_grad():
        ref = _as_list(module(x))
    if path.endswith('.onnx'):
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise ImportError(f'checking an ONNX file needs onnxruntime: '
                              f'{DEPLOY_INSTALL_HINT}') from e
        sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
        got = sess.run(None, {sess.get_inputs()[0].name: x.cpu().numpy()})
    else:
        with torch.no_grad():
            got = _as_list(torch.jit.load(path, map_location='cpu')(x.cpu()))
    if len(got) != len(ref) or any(g.shape != r.shape for g, r in zip(got, ref)):
        raise ValueError(f'{path}: outputs {[g.shape for g in got]} differ from PyTorch\'s '
                         f'{[r.shape for r in ref]}')
    return float(max(np.abs(g - r).max() for g, r in zip(got, ref)))


def write_preprocess_json(path: str, info: Dict) -> str:
    """Write ``info`` to ``<path>.json``; returns that path."""
    out = osp.splitext(path)[0] + '.json'
    with open(out, 'w') as f:
        json.dump(info, f, indent=2)
    return out


def model_complexity(module: nn.Module, input_size: Tuple[int, int] = (224, 224)) -> Dict:
    """FLOPs / parameters / activations of ``module`` on one (1, 3, H, W) input, with
    mmengine's :func:`~mmengine.analysis.get_model_complexity_info` (fvcore-style counting:
    one fused multiply-add = 1 FLOP)."""
    from mmengine.analysis import get_model_complexity_info
    return get_model_complexity_info(module, input_shape=(3, *input_size))
