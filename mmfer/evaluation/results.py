# Copyright (c) mmfer contributors. All rights reserved.
"""Presenting evaluation results: nested ``metrics.json`` and a markdown summary table."""
import re
from typing import Any, Dict, List, Tuple

__all__ = ['nest_metrics', 'format_results_table']


def nest_metrics(metrics: Dict[str, Any]) -> Dict[str, Any]:
    """``{'knn/k=10/accuracy': v}`` -> ``{'knn': {'k=10': {'accuracy': v}}}``.

    Raises:
        ValueError: a key is both a value and a group (``'a'`` and ``'a/b'``).
    """
    out: Dict[str, Any] = {}
    for key, value in metrics.items():
        node = out
        *groups, leaf = key.split('/')
        for g in groups:
            node = node.setdefault(g, {})
            if not isinstance(node, dict):
                raise ValueError(f'metric {key!r} is inside a value of the same name')
        if isinstance(node.get(leaf), dict):
            raise ValueError(f'metric {key!r} is also a group of metrics')
        node[leaf] = value
    return out


def _fmt(value: Any) -> str:
    return f'{value:.2f}' if isinstance(value, (int, float)) else '-'


def format_results_table(metrics: Dict[str, Any]) -> str:
    """A markdown table of the headline numbers of flat ``metrics`` (accuracies in %).

    Rows: every k of ``knn/``, the linear probe (with its weight decay and how it was
    chosen), FEC triplet accuracies, identity 1-NN, the effective rank, and any other
    ``<metric>/<value>`` key; per-class and validation details stay in ``metrics.json``.
    """
    rows: List[Tuple[str, str, str]] = []
    used = set()
    ks = sorted({int(m.group(1)) for k in metrics
                 for m in [re.fullmatch(r'knn/k=(\d+)/accuracy', k)] if m})
    for k in ks:
        p = f'knn/k={k}/'
        rows.append((f'k-NN k={k} ({metrics.get(p + "weighting", "exp")}, '
                     f'T={metrics.get(p + "temperature", "?")})',
                     _fmt(metrics[p + 'accuracy']), _fmt(metrics.get(p + 'macro_f1'))))
        used.update(x for x in metrics if x.startswith(p))
    if 'linear/accuracy' in metrics:
        how = metrics.get('linear/selection', 'fixed')
        how = 'chosen on validation' if how == 'validation' else 'fixed'
        rows.append((f'linear probe (wd={metrics.get("linear/weight_decay", "?"):g}, {how})'
                     if isinstance(metrics.get('linear/weight_decay'), (int, float)) else
                     'linear probe', _fmt(metrics['linear/accuracy']),
                     _fmt(metrics.get('linear/macro_f1'))))
        used.update(x for x in metrics if x.startswith('linear/'))
    for dist in ('l2', 'cosine'):
        key = f'fec/accuracy_{dist}'
        if key in metrics:
            rows.append((f'FEC triplet acc. ({dist})', _fmt(metrics[key]), '-'))
    used.update(x for x in metrics if x.startswith('fec/'))
    if 'identity_nn/accuracy' in metrics:
        rows.append(('identity 1-NN (within the query set)',
                     _fmt(metrics['identity_nn/accuracy']), '-'))
        used.update(x for x in metrics if x.startswith('identity_nn/'))
    if 'feature_rank/effective_rank' in metrics:
        rows.append(('effective rank (RankMe) of the features',
                     _fmt(metrics['feature_rank/effective_rank']), '-'))
        for k, v in metrics.items():
            if k.startswith('feature_rank/pcs_'):
                rows.append((f'principal components for {k.rsplit("_", 1)[1]} % variance',
                             str(v), '-'))
        used.update(x for x in metrics if x.startswith('feature_rank/'))
    for key, value in metrics.items():
        if key not in used and key.count('/') == 1 and isinstance(value, (int, float)):
            rows.append((key, _fmt(value), '-'))
    if not rows:
        return ''
    w = max(len(r[0]) for r in rows)
    lines = [f'| {"evaluation":{w}s} |     value | macro-F1 (%) |',
             f'|{"-" * (w + 2)}|-----------|--------------|']
    lines += [f'| {a:{w}s} | {b:>9s} | {c:>12s} |' for a, b, c in rows]
    return '\n'.join(lines)
