# Copyright (c) mmfer contributors. All rights reserved.
"""Does self-supervised pre-training learn expression? A study on synthetic faces.

Rows: random init and a supervised upper bound of the same narrow ResNet-18, BYOL,
ContraWarping-BYOL (RW*, RW†, RW† + LD), SimSiam, ContraWarping-SimSiam (RW† + LD) and SSL-FER
(TimeAug + HardNeg on synthetic talking-face clips), each pre-trained with the same data,
optimiser and budget (``configs/ssl_study/``), several seeds, all in one process
(:func:`run_study`). Evaluation on labelled faces of other people whose bank and test splits
share no person: k-NN, a linear probe with a validation-chosen weight decay, identity 1-NN and
the effective rank (:class:`FrozenEvaluator`), with the online monitor
(:class:`mmfer.engine.FeatureMonitorHook`) logging expression vs identity during each run.
The report gives mean ± sd over seeds, the binomial standard error of the test size and a
reading computed from the numbers. ``make demo`` runs the ``cpu`` preset
(``tools/misc/run_demo.py``); ``tools/misc/ssl_benchmark.py`` any preset.
"""
from .calibration import bank_validation_score, parse_point, run_calibration
from .cli import build_parser, main
from .data import (StudyDataError, check_identity_disjoint, data_plan, prepare_data,
                   tool_command, write_layout)
from .evaluation import FrozenEvaluator, binomial_se, compare, summarise, summarise_rows
from .presets import EVAL_CONFIG, METHODS, PRESETS, REFERENCE_CONFIG, Method, Preset
from .runs import (monitor_hook, random_init_checkpoint, run_config, supervised_run_config,
                   train_in_process)
from .study import StudyLog, run_one, run_study

__all__ = [
    'bank_validation_score', 'parse_point', 'run_calibration', 'build_parser', 'main',
    'StudyDataError', 'check_identity_disjoint', 'data_plan', 'prepare_data', 'tool_command',
    'write_layout', 'FrozenEvaluator', 'binomial_se', 'compare', 'summarise', 'summarise_rows',
    'EVAL_CONFIG', 'METHODS', 'PRESETS', 'REFERENCE_CONFIG', 'Method', 'Preset',
    'monitor_hook', 'random_init_checkpoint', 'run_config', 'supervised_run_config',
    'train_in_process', 'StudyLog', 'run_one', 'run_study'
]
