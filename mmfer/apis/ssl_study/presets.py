# Copyright (c) mmfer contributors. All rights reserved.
"""The rows of the SSL study and its presets (sizes and budgets).

Every pre-training row is a config under ``configs/ssl_study/`` (one setting for all of them:
the narrow ResNet-18, 48 px, the optimiser and schedule calibrated on BYOL); the random-init
row is that backbone untrained, the supervised row that backbone trained with the bank's labels
(:func:`mmfer.apis.supervised_baseline.supervised_config`). A preset only changes sizes:
data, iterations, batch, evaluation sets, seeds.
"""
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

STUDY_CONFIGS = 'configs/ssl_study'
EVAL_CONFIG = f'{STUDY_CONFIGS}/benchmarks/resnet18-w16_knn-linear_rafdb-synthetic48.py'
#: The config whose backbone (and normalisation) the random-init and supervised rows use.
REFERENCE_CONFIG = f'{STUDY_CONFIGS}/byol_resnet18-w16_1xb64-sgd-coslr_synthetic48.py'


@dataclass(frozen=True)
class Method:
    """A row of the study.

    Attributes:
        key (str): Short name (folder names, ``--methods``).
        label (str): Name in the report.
        config (str, optional): The pre-training config (None for random init / supervised).
        kind (str): ``'random'``, ``'supervised'`` or ``'ssl'``.
        family (str): The SSL family the row belongs to (``'byol'``, ``'simsiam'``,
            ``'sslfer'``); ContraWarping rows are compared with their family's plain row.
        data (str): The pre-training data it reads: ``'stills'`` or ``'videos'``.
    """

    key: str
    label: str
    config: Optional[str] = None
    kind: str = 'ssl'
    family: str = ''
    data: str = 'stills'


def _cfg(name: str) -> str:
    return f'{STUDY_CONFIGS}/{name}.py'


METHODS: 'OrderedDict[str, Method]' = OrderedDict((m.key, m) for m in [
    Method('random_init', 'random init', kind='random'),
    Method('supervised', 'supervised (bank labels)', kind='supervised'),
    Method('byol', 'BYOL', _cfg('byol_resnet18-w16_1xb64-sgd-coslr_synthetic48'),
           family='byol'),
    Method('cw_byol_rw_random', 'ContraWarping-BYOL (RW*)',
           _cfg('contrawarp-byol_resnet18-w16_1xb64-sgd-coslr_synthetic48_rw-random'),
           family='byol'),
    Method('cw_byol_rw_landmark', 'ContraWarping-BYOL (RW†)',
           _cfg('contrawarp-byol_resnet18-w16_1xb64-sgd-coslr_synthetic48_rw-landmark'),
           family='byol'),
    Method('cw_byol_rw_landmark_ld', 'ContraWarping-BYOL (RW† + LD)',
           _cfg('contrawarp-byol_resnet18-w16_1xb64-sgd-coslr_synthetic48_rw-landmark-ld'),
           family='byol'),
    Method('simsiam', 'SimSiam', _cfg('simsiam_resnet18-w16_1xb64-sgd-coslr_synthetic48'),
           family='simsiam'),
    Method('cw_simsiam_rw_landmark_ld', 'ContraWarping-SimSiam (RW† + LD)',
           _cfg('contrawarp-simsiam_resnet18-w16_1xb64-sgd-coslr_synthetic48_rw-landmark-ld'),
           family='simsiam'),
    Method('sslfer', 'SSL-FER (TimeAug + HardNeg)',
           _cfg('sslfer_resnet18-w16_1xb64-sgd-coslr_synthetic48-video_b-timeaug-hardneg'),
           family='sslfer', data='videos'),
])


@dataclass(frozen=True)
class Preset:
    """Sizes and budgets of one study preset.

    Data (written once under the data root, generator seeds 0 for the pre-training people and
    1000 for the evaluation people, so the two never share a person):

    Attributes:
        pretrain_images / pretrain_identities: unlabeled stills (FaceFolderDataset).
        video_identities / frames_per_video: one clip per person at 25 fps (SSL-FER).
        eval_images / eval_identities: the labelled RAF-DB-layout set (80 % train split =
            bank, 20 % test split, identity-disjoint).
        iters / batch_size / warmup_iters: every pre-training run.
        supervised_iters: the supervised row.
        workers: dataloader workers of the training runs.
        checkpoint_interval: iterations between checkpoints (resume points).
        monitor_interval / monitor_bank / monitor_query: FeatureMonitorHook (subsets of the
            bank and the test split).
        seeds: the seeds of every row.
        tsne_samples: test faces in the t-SNE figure.
        lr / momentum / weight_decay / base_momentum: the calibrated optimisation (None keeps
            the configs' values).
    """

    name: str
    pretrain_images: int
    pretrain_identities: int
    video_identities: int
    frames_per_video: int
    eval_images: int
    eval_identities: int
    iters: int
    batch_size: int
    warmup_iters: int
    supervised_iters: int
    workers: int
    checkpoint_interval: int
    monitor_interval: int
    monitor_bank: int
    monitor_query: int
    seeds: Tuple[int, ...] = (0, 1, 2)
    tsne_samples: int = 400
    image_size: int = 48
    lr: Optional[float] = None
    momentum: Optional[float] = None
    weight_decay: Optional[float] = None
    base_momentum: Optional[float] = None
    notes: str = ''

    @property
    def data_tag(self) -> Dict[str, int]:
        """The data parameters (what the data manifest records)."""
        return dict(pretrain_images=self.pretrain_images,
                    pretrain_identities=self.pretrain_identities,
                    video_identities=self.video_identities,
                    frames_per_video=self.frames_per_video, eval_images=self.eval_images,
                    eval_identities=self.eval_identities, image_size=self.image_size)


PRESETS: Dict[str, Preset] = {
    # `make demo`: <= 15 min on 2 CPU cores, everything included
    'cpu': Preset(
        name='cpu', pretrain_images=3000, pretrain_identities=1500, video_identities=40,
        frames_per_video=150, eval_images=3000, eval_identities=600, iters=80,
        batch_size=64, warmup_iters=8, supervised_iters=200, workers=1,
        checkpoint_interval=40, monitor_interval=20, monitor_bank=600, monitor_query=300),
    # one GPU with ~16 CPU cores for the data pipelines (15 workers): ~100 epochs of a pool
    # larger than the CPU preset's, larger evaluation sets. Never run (no GPU was lent); the
    # pipelines are CPU-bound, see README "The demo" for the time estimate.
    'gpu': Preset(
        name='gpu', pretrain_images=4000, pretrain_identities=2000, video_identities=200,
        frames_per_video=150, eval_images=10000, eval_identities=2000, iters=1600,
        batch_size=256, warmup_iters=80, supervised_iters=1000, workers=15,
        checkpoint_interval=400, monitor_interval=200, monitor_bank=2000, monitor_query=1000,
        tsne_samples=600),
    # tests: seconds
    'tiny': Preset(
        name='tiny', pretrain_images=48, pretrain_identities=24, video_identities=2,
        frames_per_video=100, eval_images=60, eval_identities=12, iters=4, batch_size=8,
        warmup_iters=1, supervised_iters=4, workers=0, checkpoint_interval=2,
        monitor_interval=2, monitor_bank=40, monitor_query=12, seeds=(0, ), tsne_samples=12),
}
