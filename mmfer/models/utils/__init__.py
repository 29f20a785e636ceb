# Copyright (c) mmfer contributors. All rights reserved.
from .intra_class_norm import intra_class_normalize  # noqa: F401
from .checkpoint_mapping import (PretrainedBackboneInit,  # noqa: F401
                                 load_backbone_weights, map_backbone_state_dict)
from .cpu_ddp import CPUDistributedDataParallel  # noqa: F401
from .momentum import momentum_keys  # noqa: F401
