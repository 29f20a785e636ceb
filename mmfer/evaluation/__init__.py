# Copyright (c) mmfer contributors. All rights reserved.
from .functional import (accuracy, ccc, confusion_matrix, effective_rank, get_field,
                         identity_nn_accuracy, knn_accuracy, macro_f1,
                         mean_class_accuracy, multilabel_f1, per_class_accuracy,
                         per_class_f1, rmse, to_numpy, triplet_accuracy,
                         triplet_predict_odd, verification_accuracy)
from .knn import knn_predict
from .features import (backbone_model_cfg, dataset_fields, extract_features,
                       pool_features)
from .feature_cache import FeatureCache, dataset_files_sha256, state_dict_sha256
from .linear_probe import linear_probe, linear_probe_eval, validation_split
from .results import format_results_table, nest_metrics
from .metrics import *  # noqa: F401,F403
