# Copyright (c) mmfer contributors. All rights reserved.
from .functional import (accuracy, ccc, confusion_matrix, macro_f1,
                         mean_class_accuracy, multilabel_f1, per_class_accuracy,
                         per_class_f1, rmse, triplet_accuracy,
                         triplet_predict_odd)
from .knn import knn_predict
from .backbone_weights import (CheckpointKeyError, extract_state_dict,
                               load_backbone_weights, select_backbone_state)
from .features import ImageListDataset, extract_features, pool_features
from .linear_probe import linear_probe
from .metrics import *  # noqa: F401,F403
