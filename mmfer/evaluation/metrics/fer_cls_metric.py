# Copyright (c) mmfer contributors. All rights reserved.
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmfer.registry import METRICS
from .. import functional as FM
from ..functional import get_field, to_numpy


@METRICS.register_module()
class FERClsMetric(BaseMetric):
    """Expression classification metrics: accuracy, per-class accuracy, (macro-)F1, CM.

    Reads ``pred_score`` (C,) or ``pred_label`` and ``gt_label`` from every data sample
    (mmpretrain ``DataSample`` or dict). All values are percentages (mmpretrain style):

    - ``accuracy``: top-1 accuracy;
    - ``mean_class_accuracy``: mean of per-class accuracies over classes with samples;
    - ``macro_f1``: unweighted mean F1 over all classes (SSL-FER / ABAW metric);
    - ``acc/<class>`` and ``f1/<class>`` for every class (class names from
      ``dataset_meta['classes']`` or ``classes``; indices otherwise), if ``per_class``;
    - the confusion matrix (rows = ground truth) is written to ``cm_dir`` as
      ``confusion_matrix_<k>.png`` (mmpretrain's ``ConfusionMatrix.plot``) and ``.npy``,
      ``k`` counting evaluations, when ``cm_dir`` is set.

    Args:
        num_classes (int, optional): C; defaults to the score width, the number of
            ``dataset_meta['classes']`` or ``max(label) + 1``.
        classes (Sequence[str], optional): Class names overriding ``dataset_meta``.
        per_class (bool): Report per-class values. Defaults to True.
        cm_dir (str, optional): Folder for confusion-matrix files. Defaults to None.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Key prefix. Defaults to None.
    """
    default_prefix: Optional[str] = 'fer'

    def __init__(self,
                 num_classes: Optional[int] = None,
                 classes: Optional[Sequence[str]] = None,
                 per_class: bool = True,
                 cm_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes = num_classes
        self.classes = tuple(classes) if classes is not None else None
        self.per_class = per_class
        self.cm_dir = cm_dir
        self._num_evals = 0

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            try:
                score = get_field(sample, 'pred_score', type(self).__name__)
                pred = int(to_numpy(score).argmax())
                width = int(to_numpy(score).shape[-1])
            except KeyError:
                pred = int(to_numpy(get_field(sample, 'pred_label',
                                              type(self).__name__)).reshape(-1)[0])
                width = None
            gt = int(to_numpy(get_field(sample, 'gt_label', type(self).__name__)).reshape(-1)[0])
            self.results.append((pred, gt, width))

    def _class_names(self, num_classes: int) -> List[str]:
        names = self.classes
        if names is None and self.dataset_meta is not None:
            names = self.dataset_meta.get('classes')
        if names is None or len(names) != num_classes:
            return [str(i) for i in range(num_classes)]
        return list(names)

    def compute_metrics(self, results: list) -> dict:
        if not results:
            raise ValueError('FERClsMetric: no samples were evaluated')
        pred = np.array([r[0] for r in results], dtype=np.int64)
        gt = np.array([r[1] for r in results], dtype=np.int64)
        c = self.num_classes or results[0][2]
        if c is None:
            meta = self.classes or (self.dataset_meta or {}).get('classes')
            c = len(meta) if meta else None
        names_c = FM.confusion_matrix(pred, gt, c).shape[0]
        metrics = {
            'accuracy': 100.0 * FM.accuracy(pred, gt),
            'mean_class_accuracy': 100.0 * FM.mean_class_accuracy(pred, gt, names_c),
            'macro_f1': 100.0 * FM.macro_f1(pred, gt, names_c),
        }
        if self.per_class:
            names = self._class_names(names_c)
            accs = FM.per_class_accuracy(pred, gt, names_c)
            f1s = FM.per_class_f1(pred, gt, names_c)
            for name, a, f in zip(names, accs, f1s):
                metrics[f'acc/{name}'] = 100.0 * float(a)
                metrics[f'f1/{name}'] = 100.0 * float(f)
        if self.cm_dir is not None:
            self._save_confusion_matrix(FM.confusion_matrix(pred, gt, names_c))
        return metrics

    def _save_confusion_matrix(self, cm: np.ndarray) -> str:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        import torch
        from mmpretrain.evaluation import ConfusionMatrix
        os.makedirs(self.cm_dir, exist_ok=True)
        stem = osp.join(self.cm_dir, f'confusion_matrix_{self._num_evals}')
        self._num_evals += 1
        np.save(stem + '.npy', cm)
        fig = ConfusionMatrix.plot(torch.from_numpy(cm), include_values=True,
                                   classes=self._class_names(cm.shape[0]), show=False)
        fig.savefig(stem + '.png', dpi=80, bbox_inches='tight')
        plt.close(fig)
        print_log(f'confusion matrix saved to {stem}.png', logger='current')
        return stem + '.png'
