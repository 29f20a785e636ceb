# Copyright (c) mmfer contributors. All rights reserved.
"""Class activation maps of expression classifiers with ``pytorch-grad-cam`` (optional:
``pip install grad-cam``), for ``tools/analysis_tools/vis_cam.py``.

The image goes through the model's own data preprocessor (mean/std, BGR->RGB) after a resize
to the network input; the CAM is taken at ``target_layer`` (default: the backbone's last stage,
``backbone.layer4`` of a ResNet) for the predicted class or a given one.
"""
from typing import Dict, Optional, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn

CAM_METHODS = ('gradcam', 'gradcam++', 'xgradcam', 'eigencam', 'layercam')
GRAD_CAM_INSTALL_HINT = '`pip install grad-cam` (pytorch-grad-cam; its requirements are ' \
    "mmfer's plus ttach)"


def _cam_class(method: str):
    try:
        import pytorch_grad_cam as pgc
    except ImportError as e:
        raise ImportError(f'Grad-CAM needs {GRAD_CAM_INSTALL_HINT}') from e
    classes = {'gradcam': pgc.GradCAM, 'gradcam++': pgc.GradCAMPlusPlus,
               'xgradcam': pgc.XGradCAM, 'eigencam': pgc.EigenCAM, 'layercam': pgc.LayerCAM}
    if method not in classes:
        raise ValueError(f'method must be one of {CAM_METHODS}, got {method!r}')
    return classes[method]


def preprocess(model: nn.Module, img: np.ndarray, input_size: Tuple[int, int]) -> torch.Tensor:
    """(1, 3, H, W) normalised input of ``model`` for a BGR uint8 image (resized first)."""
    h, w = input_size
    resized = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    data = dict(inputs=[torch.from_numpy(np.ascontiguousarray(resized.transpose(2, 0, 1)))])
    return model.data_preprocessor(data, False)['inputs']


def grad_cam(model: nn.Module, img: np.ndarray, target_layer: str = 'backbone.layer4',
             target_class: Optional[int] = None, method: str = 'gradcam',
             input_size: Tuple[int, int] = (224, 224)) -> Dict:
    """CAM of ``model`` (an mmpretrain ``ImageClassifier``) on one BGR uint8 image.

    Args:
        target_layer (str): Module name in the model (``model.get_submodule``).
        target_class (int, optional): Class explained; the predicted one when None.
        method (str): One of :data:`CAM_METHODS`.
        input_size (tuple): Network input (H, W).

    Returns:
        dict: ``cam`` (H, W) float32 in [0, 1] at the input size, ``overlay`` (H, W, 3)
        BGR uint8, ``target_class`` int, ``scores`` (C,) softmax probabilities.
    """
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    from pytorch_grad_cam.utils.image import show_cam_on_image

    from mmfer.apis.deployment import ExportModel
    cam_cls = _cam_class(method)
    net = ExportModel(model, 'classifier')
    try:
        layer = model.get_submodule(target_layer)
    except AttributeError:
        raise KeyError(f'no module {target_layer!r} in {type(model).__name__}; e.g. '
                       f'{[n for n, _ in model.named_children()]}') from None
    x = preprocess(model, img, input_size)
    with torch.no_grad():
        logits = net(x)
    scores = logits.softmax(-1)[0]
    target = int(scores.argmax()) if target_class is None else int(target_class)
    if not 0 <= target < scores.numel():
        raise ValueError(f'target_class {target} is not in [0, {scores.numel()})')
    with cam_cls(model=net, target_layers=[layer]) as cam:
        mask = cam(input_tensor=x, targets=[ClassifierOutputTarget(target)])[0]
    rgb = cv2.resize(img, (input_size[1], input_size[0]))[..., ::-1].astype(np.float32) / 255
    overlay = show_cam_on_image(rgb, mask, use_rgb=True)[..., ::-1]
    return dict(cam=mask.astype(np.float32), overlay=np.ascontiguousarray(overlay),
                target_class=target, scores=scores.numpy())
