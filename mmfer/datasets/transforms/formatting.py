# Copyright (c) mmfer contributors. All rights reserved.
"""Packing of multi-view samples into mmpretrain's ``inputs`` + ``DataSample``."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.datasets.transforms import PackInputs
from mmpretrain.structures import DataSample

from mmfer.registry import TRANSFORMS


def _tensor(x, dtype=torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x)).to(dtype)


@TRANSFORMS.register_module()
class PackContraWarpInputs(BaseTransform):
    """Pack the output of :class:`ContraWarpViews` for ``default_collate``.

    Output ``inputs``: list of 3 (C, H, W) uint8 tensors ``[x1, x2, x3]``; ``data_samples``: a
    :class:`mmpretrain.structures.DataSample` with data fields

    - ``keypoints``: float32 (2, K, 2), x1's and x3's landmarks in input pixels;
    - ``keypoint_weights``: float32 (2, K), the same 1.0-moved / 0.1-unmoved weights for both
      views (all zeros when the sample has no landmarks);
    - ``heatmaps``: float32 (2, K, h, w), only when ``ContraWarpViews`` has a codec;
    - ``has_landmarks``: bool;

    and the metainfo ``meta_keys`` found in the results (``warp_params`` included).

    Args:
        meta_keys (Sequence[str]): Keys copied into the metainfo when present.
    """

    DEFAULT_META_KEYS = ('sample_idx', 'img_path', 'ori_shape', 'img_shape', 'flip',
                         'warp_params')

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        imgs = results.get('img')
        if not isinstance(imgs, list) or len(imgs) != 3:
            raise ValueError('PackContraWarpInputs expects results["img"] = [x1, x2, x3] from '
                             f'ContraWarpViews, got {type(imgs).__name__} (img_path='
                             f'{results.get("img_path")!r})')
        for key in ('gt_keypoints', 'keypoint_weights', 'has_landmarks'):
            if key not in results:
                raise KeyError(f'PackContraWarpInputs: results has no {key!r}; put '
                               'ContraWarpViews before it')
        packed = dict(inputs=PackInputs.format_input(imgs))
        ds = DataSample()
        ds.set_field(_tensor(results['gt_keypoints']), 'keypoints')
        ds.set_field(_tensor(results['keypoint_weights']), 'keypoint_weights')
        if results.get('heatmaps') is not None:
            ds.set_field(_tensor(results['heatmaps']), 'heatmaps')
        ds.set_field(bool(results['has_landmarks']), 'has_landmarks')
        ds.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        packed['data_samples'] = ds
        return packed

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'


@TRANSFORMS.register_module()
class PackMultiViewInputs(BaseTransform):
    """Pack named views (``results['views'][role]['img']``) for ``default_collate``.

    Output ``inputs``: list of (C, H, W) uint8 tensors in ``view_roles`` order;
    ``data_samples``: a ``DataSample`` with metainfo ``view_roles`` (tuple of role names, the
    order of ``inputs``), ``view_info`` (per non-anchor role: its ``img_path``, ``frame``,
    ``time_offset``, ``swap_identity``, ``swap_img_path`` when known) plus ``meta_keys``, and
    data fields ``data_keys`` as tensors
    (e.g. ``identity``, ``video``, ``frame``, ``hardneg_valid``, ``face_swapped``,
    ``time_offset``; missing keys raise).

    Args:
        view_roles (Sequence[str]): Roles of the views, in output order (``'anchor'`` is the
            top-level ``results['img']``, the others ``results['views'][role]``).
        data_keys (Sequence[str]): Top-level result keys packed as data fields.
        meta_keys (Sequence[str]): Top-level result keys packed as metainfo when present.
    """

    VIEW_INFO_KEYS = ('img_path', 'frame', 'time_offset', 'swap_identity', 'swap_img_path')

    def __init__(self,
                 view_roles: Sequence[str] = ('anchor', 'positive', 'hardneg'),
                 data_keys: Sequence[str] = ('identity', 'video', 'frame'),
                 meta_keys: Sequence[str] = ('sample_idx', 'img_path', 'ori_shape',
                                             'img_shape')) -> None:
        self.view_roles = tuple(view_roles)
        self.data_keys = tuple(data_keys)
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        imgs = []
        views = results.get('views', {})
        for role in self.view_roles:
            view = results if role == 'anchor' else views.get(role)
            if view is None or view.get('img') is None:
                raise KeyError(f'PackMultiViewInputs: no view {role!r} (has '
                               f'{["anchor"] + sorted(views)}; img_path='
                               f'{results.get("img_path")!r})')
            imgs.append(view['img'])
        packed = dict(inputs=PackInputs.format_input(imgs))
        ds = DataSample()
        for key in self.data_keys:
            if key not in results:
                raise KeyError(f'PackMultiViewInputs: results has no {key!r} '
                               f'(img_path={results.get("img_path")!r})')
            val = np.asarray(results[key])
            dtype = torch.bool if val.dtype.kind == 'b' else \
                torch.float32 if val.dtype.kind == 'f' else torch.long
            ds.set_field(torch.as_tensor(val, dtype=dtype), key)
        meta = {k: results[k] for k in self.meta_keys if k in results}
        meta['view_roles'] = self.view_roles
        meta['view_info'] = {
            role: {k: views[role][k] for k in self.VIEW_INFO_KEYS if k in views[role]}
            for role in self.view_roles if role != 'anchor'
        }
        ds.set_metainfo(meta)
        packed['data_samples'] = ds
        return packed

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(view_roles={self.view_roles}, '
                f'data_keys={self.data_keys}, meta_keys={self.meta_keys})')
