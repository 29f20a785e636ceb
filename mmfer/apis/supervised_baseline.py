# Copyright (c) mmfer contributors. All rights reserved.
"""The supervised upper bound of a frozen-feature benchmark: the same backbone, trained with labels.

:func:`supervised_config` turns any mmfer config (its ``model.backbone`` and its data
preprocessor's normalisation) into an mmengine training config of mmpretrain's
``ImageClassifier`` -- that backbone, global average pooling, one linear layer, cross-entropy
-- on a labelled dataset (e.g. the bank of a k-NN / linear-probe benchmark). Train it like any
config (``tools/train.py`` or in-process, :func:`mmfer.apis.ssl_study.train_in_process`) and
evaluate its backbone with the same frozen-feature protocol as a pre-trained one: that row is
what the architecture can reach when it is told the expressions.

:func:`identity_expression_leakage` checks that a labelled set's identities do not predict its
labels (on the synthetic faces identity and expression are drawn independently).
"""
import copy
import math
from typing import Dict, Optional, Sequence, Union

import numpy as np
from mmengine.config import Config

__all__ = ['backbone_feature_dim', 'supervised_config', 'identity_expression_leakage']


def backbone_feature_dim(backbone: dict, image_size: int = 64) -> int:
    """Channels of the backbone's last output (the pooled feature dimension).

    Args:
        backbone (dict): Backbone config.
        image_size (int): Side of the dummy input used to probe it. Defaults to 64.
    """
    import torch

    from mmfer.evaluation import pool_features
    from mmfer.registry import MODELS
    cfg = copy.deepcopy(backbone)
    cfg.pop('init_cfg', None)
    net = MODELS.build(cfg)
    net.eval()
    with torch.no_grad():
        return int(pool_features(net(torch.zeros(1, 3, image_size, image_size))).shape[1])


def supervised_config(cfg: Union[Config, dict],
                      train_dataset: dict,
                      num_classes: int,
                      image_size: int,
                      max_iters: int,
                      batch_size: int = 64,
                      lr: float = 0.1,
                      momentum: float = 0.9,
                      weight_decay: float = 1e-4,
                      warmup_iters: Optional[int] = None,
                      num_workers: int = 1,
                      test_dataset: Optional[dict] = None,
                      work_dir: Optional[str] = None) -> Config:
    """A supervised training config for the backbone of ``cfg``.

    The model is mmpretrain's ``ImageClassifier``: ``cfg.model.backbone`` (without
    ``init_cfg`` / ``frozen_stages``: trained from scratch) → ``GlobalAveragePooling`` →
    ``LinearClsHead`` (cross-entropy), with a ``ClsDataPreprocessor`` of the same
    normalisation as ``cfg``'s data preprocessor. Training: the dataset's images resized to
    ``image_size + image_size // 12``, random ``image_size`` crops and horizontal flips
    (the "baseline" augmentation of the FER papers), SGD with momentum, a linear warm-up and a
    cosine decay to 0 over ``max_iters`` iterations (``IterBasedTrainLoop``, endless sampler),
    ``cfg``'s runtime settings (``default_scope``, ``runner_type``, env, logging).

    Args:
        cfg (Config | dict): Any mmfer config with ``model.backbone``.
        train_dataset (dict): A labelled dataset config (``gt_label``); its ``pipeline`` is
            replaced (it must load images with ``LoadFaceImage``: file datasets).
        num_classes (int): Number of classes.
        image_size (int): Training crop size.
        max_iters (int): Iterations.
        batch_size, lr, momentum, weight_decay: The optimisation.
        warmup_iters (int, optional): Linear warm-up; defaults to 10 % of ``max_iters``.
        num_workers (int): Dataloader workers. Defaults to 1.
        test_dataset (dict, optional): A labelled set for ``runner.test()`` (top-1 accuracy of
            the classifier, mmpretrain's ``Accuracy``); pipeline replaced by resize-only.
        work_dir (str, optional): The run's work dir.

    Returns:
        Config: a complete training config.

    Raises:
        ValueError: ``cfg`` has no ``model.backbone`` or a size/count is not positive.
    """
    cfg = cfg if isinstance(cfg, Config) else Config(cfg)
    backbone = copy.deepcopy((cfg.get('model') or {}).get('backbone'))
    if not backbone:
        raise ValueError(f'supervised_config: {cfg.filename or "the config"} has no '
                         'model.backbone')
    for name, value in (('num_classes', num_classes), ('image_size', image_size),
                        ('max_iters', max_iters), ('batch_size', batch_size)):
        if int(value) != value or value < 1:
            raise ValueError(f'supervised_config: {name} must be a positive integer, got '
                             f'{value!r}')
    for key in ('init_cfg', 'frozen_stages'):
        backbone.pop(key, None)
    if backbone.get('norm_cfg', {}).get('type') == 'SyncBN':
        backbone['norm_cfg'] = dict(backbone['norm_cfg'], type='BN')
    pre = copy.deepcopy(cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor')
                        or {})
    pre_cfg = dict(type='ClsDataPreprocessor', num_classes=int(num_classes),
                   to_rgb=bool(pre.get('to_rgb', pre.get('bgr_to_rgb', False))))
    pre_cfg.update({k: pre[k] for k in ('mean', 'std') if pre.get(k) is not None})
    feat_dim = backbone_feature_dim(backbone, image_size)
    pad = image_size + max(1, image_size // 12)
    train_pipeline = [
        dict(type='LoadFaceImage'),
        dict(type='Resize', scale=(pad, pad)),
        dict(type='RandomCrop', crop_size=image_size),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]
    warm = max(1, int(round(0.1 * max_iters))) if warmup_iters is None else int(warmup_iters)
    warm = min(warm, max_iters - 1) if max_iters > 1 else 0
    out = dict(
        default_scope=cfg.get('default_scope', 'mmfer'),
        runner_type=cfg.get('runner_type', 'FERRunner'),
        model=dict(type='ImageClassifier', backbone=backbone,
                   neck=dict(type='GlobalAveragePooling'),
                   head=dict(type='LinearClsHead', num_classes=int(num_classes),
                             in_channels=feat_dim,
                             loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
                   data_preprocessor=pre_cfg),
        train_dataloader=dict(
            batch_size=int(batch_size), num_workers=int(num_workers),
            persistent_workers=num_workers > 0, drop_last=True,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            dataset=dict(copy.deepcopy(train_dataset), pipeline=train_pipeline)),
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=lr, momentum=momentum, weight_decay=weight_decay),
            paramwise_cfg=dict(custom_keys={'bn': dict(decay_mult=0),
                                            'bias': dict(decay_mult=0)})),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=max(warm, 1)),
            dict(type='CosineAnnealingLR', T_max=max(1, max_iters - warm), by_epoch=False,
                 begin=warm, end=max_iters),
        ],
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=int(max_iters)),
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=max(1, min(10, max_iters // 5))),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=max(1, max_iters // 4), max_keep_ckpts=1),
            sampler_seed=dict(type='DistSamplerSeedHook'),
        ),
        log_processor=dict(by_epoch=False, window_size=10),
        env_cfg=copy.deepcopy(cfg.get('env_cfg', dict(dist_cfg=dict(backend='nccl')))),
        vis_backends=[dict(type='LocalVisBackend')],
        visualizer=dict(type='mmpretrain.UniversalVisualizer',
                        vis_backends=[dict(type='LocalVisBackend')]),
        log_level=cfg.get('log_level', 'INFO'),
        load_from=None,
        resume=False,
        randomness=copy.deepcopy(cfg.get('randomness', dict(seed=0, deterministic=False))),
    )
    if test_dataset is not None:
        out.update(
            test_dataloader=dict(
                batch_size=256, num_workers=0, persistent_workers=False,
                sampler=dict(type='DefaultSampler', shuffle=False),
                collate_fn=dict(type='default_collate'),
                dataset=dict(copy.deepcopy(test_dataset), test_mode=True, pipeline=[
                    dict(type='LoadFaceImage'),
                    dict(type='Resize', scale=(image_size, image_size)),
                    dict(type='PackInputs'),
                ])),
            test_evaluator=dict(type='Accuracy', topk=(1, )),
            test_cfg=dict(type='TestLoop'))
    if work_dir is not None:
        out['work_dir'] = work_dir
    return Config(out)


def identity_expression_leakage(identities: Sequence, labels: Sequence,
                                num_classes: int) -> Dict[str, float]:
    """Do a labelled set's identities predict its labels? (They must not: synthetic faces draw
    identity and expression independently.)

    Two numbers: the accuracy of predicting a sample's label by the majority label of *other*
    samples of its person (each person's samples alternate between a half that votes and a
    half that is predicted, so the vote never sees the label it predicts; people with one
    sample are left out), and a chi-square test of independence of the identity x label
    table. With independent labels the first is at chance (1 / C for uniform labels).

    Args:
        identities (Sequence): (N,) identity of each sample.
        labels (Sequence): (N,) labels in [0, num_classes).
        num_classes (int): C.

    Returns:
        dict: ``identity_to_expression_acc``, ``num_queries``, ``chance`` (1 / C of the labels
        present), ``chance_95_interval`` ([lo, hi]), ``chi2``, ``chi2_dof``,
        ``chi2_p_value`` and ``at_chance`` (the accuracy is inside the interval's upper end).
    """
    from scipy.stats import chi2_contingency
    ids = np.asarray(list(identities))
    y = np.asarray(list(labels), dtype=np.int64)
    if len(ids) != len(y) or len(y) == 0:
        raise ValueError(f'identity_expression_leakage: {len(ids)} identities but {len(y)} '
                         'labels')
    uniq, inverse = np.unique(ids, return_inverse=True)
    inverse = inverse.reshape(-1)
    table = np.zeros((len(uniq), num_classes), np.int64)
    np.add.at(table, (inverse, y), 1)
    hits, queries = 0, 0
    for p in range(len(uniq)):
        idx = np.flatnonzero(inverse == p)
        vote, query = idx[0::2], idx[1::2]
        if len(query) == 0:
            continue
        majority = np.bincount(y[vote], minlength=num_classes).argmax()
        hits += int((y[query] == majority).sum())
        queries += len(query)
    present = table.sum(0) > 0
    chance = 1.0 / int(present.sum())
    acc = hits / queries if queries else float('nan')
    half = 1.96 * math.sqrt(chance * (1 - chance) / max(queries, 1))
    rows = table.sum(1) > 0
    chi2, p_value, dof, _ = chi2_contingency(table[rows][:, present])
    return dict(identity_to_expression_acc=acc, num_queries=queries, chance=chance,
                chance_95_interval=[chance - half, chance + half], chi2=float(chi2),
                chi2_dof=int(dof), chi2_p_value=float(p_value),
                at_chance=bool(acc <= chance + half))
