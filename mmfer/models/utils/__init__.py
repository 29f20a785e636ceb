# Copyright (c) mmfer contributors. All rights reserved.
from .intra_class_norm import intra_class_normalize  # noqa: F401
from .checkpoint_mapping import (CheckpointKeyError,  # noqa: F401
                                 PretrainedBackboneInit, check_state_dict_matches,
                                 load_backbone_weights, load_model_weights,
                                 select_backbone_state)
from .cpu_ddp import CPUDistributedDataParallel  # noqa: F401
from .momentum import momentum_keys  # noqa: F401
