# Copyright (c) mmfer contributors. All rights reserved.
"""Per-class errors and worst cases of a prediction dump (``tools/test.py --dump``).

:func:`load_predictions` reads a :class:`~mmfer.evaluation.metrics.DumpPredictions` file;
:func:`class_report` gives, per class, support, recall (per-class accuracy), precision, F1
and the class it is most often mistaken for; :func:`worst_cases` the samples predicted wrong
with the highest confidence (classification) or with the largest error (valence/arousal).
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from . import functional as FM

__all__ = ['load_predictions', 'prediction_kind', 'class_report', 'worst_cases',
           'va_report', 'au_report']


def load_predictions(path: str) -> Dict:
    """A prediction dump as numpy arrays / lists (read with mmfer's safe loader)."""
    from mmfer.utils import load_checkpoint_file
    data = load_checkpoint_file(path, map_location='cpu')
    if not isinstance(data, dict) or 'sample_idx' not in data:
        raise ValueError(f'{path} is not a prediction dump of tools/test.py --dump (keys: '
                         f'{sorted(data) if isinstance(data, dict) else type(data).__name__})')
    return {k: v.numpy() if torch.is_tensor(v) else v for k, v in data.items()}


def prediction_kind(preds: Dict) -> str:
    """``'cls'`` (single-label scores), ``'au'`` (multi-label: ``gt_score``) or ``'va'``."""
    if 'pred_va' in preds:
        return 'va'
    if 'pred_score' in preds and 'gt_score' in preds:
        return 'au'
    if 'pred_score' in preds and 'gt_label' in preds:
        return 'cls'
    raise ValueError(f'the dump has no analysable predictions (keys: {sorted(preds)})')


def _names(preds: Dict, num: int) -> List[str]:
    names = list(preds.get('classes') or [])
    return names if len(names) == num else [f'class{i}' for i in range(num)]


def class_report(preds: Dict) -> List[Dict]:
    """One row per class: ``class``, ``support``, ``correct``, ``recall`` (= per-class
    accuracy), ``precision``, ``f1`` (in %), ``confused_with`` (the most frequent wrong
    prediction of the class) and ``confused_count``."""
    scores, gt = np.asarray(preds['pred_score']), np.asarray(preds['gt_label']).reshape(-1)
    num = scores.shape[1]
    pred = scores.argmax(1)
    cm = FM.confusion_matrix(pred, gt, num)
    names = _names(preds, num)
    f1 = FM.per_class_f1(pred, gt, num)
    rows = []
    for c in range(num):
        support, correct, predicted = int(cm[c].sum()), int(cm[c, c]), int(cm[:, c].sum())
        wrong = cm[c].copy()
        wrong[c] = -1
        j = int(wrong.argmax())
        rows.append(dict(
            **{'class': names[c]}, support=support, correct=correct,
            recall=100.0 * correct / support if support else float('nan'),
            precision=100.0 * correct / predicted if predicted else float('nan'),
            f1=100.0 * float(f1[c]),
            confused_with=names[j] if wrong[j] > 0 else '', confused_count=max(0, int(wrong[j]))))
    return rows


def worst_cases(preds: Dict, k: int = 16) -> List[Dict]:
    """The ``k`` worst samples: wrong predictions with the highest score of the predicted
    class (classification), or the largest valence/arousal error (``va``).

    Returns:
        list[dict]: ``index`` (in the dump), ``img_path`` (when dumped) and ``gt`` / ``pred``
        / ``score`` (class names and the score) or ``gt_va`` / ``pred_va`` / ``error``.
    """
    kind = prediction_kind(preds)
    paths = preds.get('img_path')
    out = []
    if kind == 'va':
        pred, gt = np.asarray(preds['pred_va']), np.asarray(preds['gt_va'])
        valid = ((gt >= -1) & (gt <= 1)).all(1)
        err = np.abs(pred - gt).mean(1)
        order = [i for i in np.argsort(-err, kind='stable') if valid[i]][:k]
        for i in order:
            out.append(dict(index=int(i), gt_va=gt[i].tolist(), pred_va=pred[i].tolist(),
                            error=float(err[i])))
    elif kind == 'cls':
        scores, gt = np.asarray(preds['pred_score']), np.asarray(preds['gt_label']).reshape(-1)
        names = _names(preds, scores.shape[1])
        pred = scores.argmax(1)
        conf = scores[np.arange(len(pred)), pred]
        wrong = np.flatnonzero((pred != gt) & (gt >= 0))
        for i in wrong[np.argsort(-conf[wrong], kind='stable')][:k]:
            out.append(dict(index=int(i), gt=names[gt[i]], pred=names[pred[i]],
                            score=float(conf[i]),
                            gt_score=float(scores[i, gt[i]])))
    else:
        raise ValueError('worst_cases: AU dumps have no single worst case; see au_report')
    for row in out:
        if paths is not None:
            row['img_path'] = paths[row['index']]
    return out


def va_report(preds: Dict) -> Dict[str, float]:
    """CCC and RMSE of valence and arousal on the valid targets (``[-1, 1]``)."""
    pred, gt = np.asarray(preds['pred_va']), np.asarray(preds['gt_va'])
    valid = ((gt >= -1) & (gt <= 1)).all(1)
    out = dict(num_valid=int(valid.sum()))
    for j, name in enumerate(('valence', 'arousal')):
        out[f'ccc/{name}'] = FM.ccc(pred[valid, j], gt[valid, j])
        out[f'rmse/{name}'] = FM.rmse(pred[valid, j], gt[valid, j])
    return out


def au_report(preds: Dict, threshold: float = 0.5) -> List[Dict]:
    """Per AU: ``au``, ``support`` (annotated positives), ``f1`` (in %) at ``threshold``."""
    scores, gt = np.asarray(preds['pred_score']), np.asarray(preds['gt_score'])
    mask: Optional[np.ndarray] = preds.get('au_mask')
    f1 = FM.multilabel_f1(scores, gt, threshold, mask)
    m = np.ones_like(gt) if mask is None else np.asarray(mask)
    names = _names(preds, scores.shape[1])
    return [dict(au=names[j], support=int(((gt[:, j] > 0) & (m[:, j] > 0)).sum()),
                 f1=100.0 * float(f1[j])) for j in range(scores.shape[1])]
