# Copyright (c) mmfer contributors. All rights reserved.
"""Explicit class-label remapping between expression datasets.

Each FER dataset keeps its own label order (RAF-DB: Surprise, Fear, Disgust, Happiness,
Sadness, Anger, Neutral; AffectNet: Neutral, Happy, Sad, Surprise, Fear, Disgust, Anger,
Contempt; FER2013: Angry, Disgust, Fear, Happy, Sad, Surprise, Neutral). A model trained on
one order is evaluated on another through an explicit mapping built from class *names*:
names are canonicalised through :data:`EXPRESSION_SYNONYMS` (``'Happy'`` and
``'Happiness'`` are the same class), and every source class must either map to a target
class or be listed in ``drop`` — nothing is remapped or dropped silently.

Example::

    from mmfer.datasets import RAFDB, AffectNet, LabelMapping
    mapping = LabelMapping.from_classes(AffectNet.METAINFO_7['classes'],
                                        RAFDB.METAINFO['classes'])
    rafdb_labels = mapping.map_labels(affectnet_labels)        # (N,) ints
    rafdb_scores = mapping.map_scores(affectnet_scores)        # (N, 7) -> (N, 7)
"""
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
import torch

#: Canonical expression name of every spelling used by the supported datasets.
EXPRESSION_SYNONYMS: Dict[str, str] = {
    'neutral': 'neutral',
    'happy': 'happiness', 'happiness': 'happiness', 'happily': 'happiness',
    'sad': 'sadness', 'sadness': 'sadness', 'sadly': 'sadness',
    'surprise': 'surprise', 'surprised': 'surprise',
    'fear': 'fear', 'fearful': 'fear', 'afraid': 'fear',
    'disgust': 'disgust', 'disgusted': 'disgust',
    'anger': 'anger', 'angry': 'anger', 'angrily': 'anger',
    'contempt': 'contempt', 'contemptuous': 'contempt',
    'other': 'other',
}


def canonical_expression(name: str) -> str:
    """Canonical lower-case expression name (``'Happy'`` -> ``'happiness'``)."""
    key = str(name).strip().lower()
    if key not in EXPRESSION_SYNONYMS:
        raise KeyError(f'unknown expression class name {name!r}; known names: '
                       f'{sorted(EXPRESSION_SYNONYMS)}')
    return EXPRESSION_SYNONYMS[key]


class LabelMapping:
    """A mapping from a source label order to a target label order.

    Args:
        source_classes (Sequence[str]): Class names of the source order.
        target_classes (Sequence[str]): Class names of the target order.
        mapping (dict[int, int]): ``source index -> target index``; source indices absent
            from it are *dropped* and must be listed in ``dropped``.
        dropped (Iterable[int]): Source indices without a target class.
    """

    def __init__(self, source_classes: Sequence[str], target_classes: Sequence[str],
                 mapping: Dict[int, int], dropped: Iterable[int] = ()) -> None:
        self.source_classes = tuple(source_classes)
        self.target_classes = tuple(target_classes)
        self.mapping = dict(mapping)
        self.dropped = tuple(sorted(dropped))
        missing = set(range(len(self.source_classes))) - set(self.mapping) - set(self.dropped)
        if missing:
            raise ValueError('LabelMapping: source classes '
                             f'{[self.source_classes[i] for i in sorted(missing)]} are neither '
                             'mapped nor dropped')
        if len(set(self.mapping.values())) != len(self.mapping):
            raise ValueError(f'LabelMapping: two source classes map to the same target: '
                             f'{self.mapping}')
        lut = np.full(len(self.source_classes), -1, dtype=np.int64)
        for s, t in self.mapping.items():
            if not 0 <= t < len(self.target_classes):
                raise ValueError(f'LabelMapping: target index {t} out of range')
            lut[s] = t
        self._lut = lut

    @classmethod
    def from_classes(cls, source_classes: Sequence[str], target_classes: Sequence[str],
                     drop: Optional[Sequence[str]] = None) -> 'LabelMapping':
        """Match classes by canonical name.

        Args:
            source_classes: Source class names.
            target_classes: Target class names.
            drop: Source class names allowed to have no target (e.g. ``['Contempt']`` when
                mapping AffectNet-8 to RAF-DB). Any other unmatched source class raises.
        """
        target_index = {canonical_expression(n): i for i, n in enumerate(target_classes)}
        allowed = {canonical_expression(n) for n in (drop or ())}
        mapping, dropped, bad = {}, [], []
        for i, name in enumerate(source_classes):
            canon = canonical_expression(name)
            if canon in target_index:
                mapping[i] = target_index[canon]
            elif canon in allowed:
                dropped.append(i)
            else:
                bad.append(name)
        if bad:
            raise ValueError(f'LabelMapping: source classes {bad} have no match in the target '
                             f'classes {list(target_classes)}; pass them in `drop` to drop them')
        return cls(source_classes, target_classes, mapping, dropped)

    @property
    def lut(self) -> np.ndarray:
        """(C_src,) int64 lookup table, -1 for dropped classes."""
        return self._lut.copy()

    def map_labels(self, labels, on_dropped: str = 'error'):
        """Map source labels to target labels.

        Args:
            labels: (N,) int labels (array / tensor / list).
            on_dropped (str): ``'error'`` (default) raises on a dropped class, ``'keep'``
                returns -1 for them (filter them yourself, and count them).

        Returns:
            Same type as the input (numpy for lists), (N,) target labels.
        """
        is_tensor = isinstance(labels, torch.Tensor)
        arr = labels.cpu().numpy() if is_tensor else np.asarray(labels)
        arr = arr.astype(np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= len(self._lut)):
            raise ValueError(f'labels must lie in [0, {len(self._lut)}), got '
                             f'[{arr.min()}, {arr.max()}]')
        out = self._lut[arr]
        if on_dropped == 'error' and (out < 0).any():
            bad = sorted({self.source_classes[i] for i in arr[out < 0]})
            raise ValueError(f'{int((out < 0).sum())} labels belong to dropped classes {bad}')
        elif on_dropped not in ('error', 'keep'):
            raise ValueError(f"on_dropped must be 'error' or 'keep', got {on_dropped!r}")
        return torch.from_numpy(out).to(labels.device) if is_tensor else out

    def map_scores(self, scores, fill: float = float('-inf')):
        """Reorder (N, C_src) class scores into (N, C_tgt).

        Target classes without a source class get ``fill`` (``-inf``: never predicted).
        Scores of dropped source classes are discarded.
        """
        is_tensor = isinstance(scores, torch.Tensor)
        s = scores if is_tensor else torch.as_tensor(np.asarray(scores))
        if s.ndim != 2 or s.shape[1] != len(self.source_classes):
            raise ValueError(f'scores must be (N, {len(self.source_classes)}), got '
                             f'{tuple(s.shape)}')
        out = s.new_full((s.shape[0], len(self.target_classes)), fill)
        src = torch.tensor(list(self.mapping.keys()), dtype=torch.long, device=s.device)
        tgt = torch.tensor(list(self.mapping.values()), dtype=torch.long, device=s.device)
        out[:, tgt] = s[:, src]
        return out if is_tensor else out.numpy()

    def __repr__(self) -> str:
        pairs = ', '.join(f'{self.source_classes[s]}->{self.target_classes[t]}'
                          for s, t in sorted(self.mapping.items()))
        dropped = [self.source_classes[i] for i in self.dropped]
        return f'LabelMapping({pairs}; dropped={dropped})'


def remap_labels(labels, source_classes: Sequence[str], target_classes: Sequence[str],
                 drop: Optional[Sequence[str]] = None) -> List[int]:
    """Functional shortcut of :meth:`LabelMapping.from_classes` + :meth:`map_labels`."""
    return LabelMapping.from_classes(source_classes, target_classes, drop).map_labels(labels)
