# Copyright (c) mmfer contributors. All rights reserved.
from .contrawarp_head import ContraWarpHead  # noqa: F401
from .landmark_heatmap_head import LandmarkHeatmapHead  # noqa: F401
from .masked_multilabel_head import MaskedMultiLabelLinearClsHead  # noqa: F401
from .va_regression_head import VARegressionHead  # noqa: F401
from .mlp_heads import MLPClsHead, MLPVAHead, build_mlp  # noqa: F401
from .infonce_head import MaskedInfoNCEHead  # noqa: F401
from .emotion_cls_head import EmotionClsHead  # noqa: F401
from .fec_head import FECHead  # noqa: F401
