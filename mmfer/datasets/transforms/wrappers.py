# Copyright (c) mmfer contributors. All rights reserved.
"""Transforms that run other transforms (as mmpretrain's ``transforms/wrappers.py``)."""
from typing import Sequence

from mmcv.transforms import BaseTransform, Compose

from mmfer.registry import TRANSFORMS
from .utils import describe


@TRANSFORMS.register_module()
class ApplyToViews(BaseTransform):
    """Run one pipeline independently on several named views (``'anchor'`` = the top level).

    The views are ``results['views'][role]`` dicts (made by e.g. ``TimeAug``, ``HardNeg``);
    ``'anchor'`` is ``results`` itself. Each view gets its own random draw. Only ``keys`` are
    handed to the pipeline, and everything the pipeline returns (``img``, ``img_shape``,
    ``gt_keypoints`` when a landmark-aware transform moved them, any key it adds) is written
    back into the view, except ``img_path``.

    Args:
        transforms (list[dict]): The per-view pipeline.
        views (Sequence[str]): View roles. Defaults to anchor, positive, hardneg.
        keys (Sequence[str]): Keys passed to the pipeline when present. Defaults to the image,
            its path and shapes and its ``gt_keypoints`` (68 landmarks, for landmark-based
            masking and the landmark-aware ``Face*`` geometric transforms).
    """

    def __init__(self, transforms: list,
                 views: Sequence[str] = ('anchor', 'positive', 'hardneg'),
                 keys: Sequence[str] = ('img', 'img_path', 'img_shape', 'ori_shape',
                                        'gt_keypoints')) -> None:
        self.transforms = Compose([TRANSFORMS.build(t) if isinstance(t, dict) else t
                                   for t in transforms])
        self.views = tuple(views)
        self.keys = tuple(keys)

    def transform(self, results: dict) -> dict:
        for role in self.views:
            target = results if role == 'anchor' else results.get('views', {}).get(role)
            if target is None:
                raise KeyError(f'ApplyToViews: no view {role!r} ({describe(results)}); '
                               'put the transform that makes it first')
            sub = {k: target[k] for k in self.keys if k in target}
            out = self.transforms(sub)
            if out is None:
                raise RuntimeError(f'ApplyToViews: the pipeline returned None for view {role!r}')
            for k, v in out.items():
                if k not in ('img_path', ):
                    target[k] = v
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(transforms={self.transforms!r}, '
                f'views={self.views}, keys={self.keys})')
