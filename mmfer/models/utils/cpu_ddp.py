# Copyright (c) mmfer contributors. All rights reserved.
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm

from mmfer.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper for CPU process groups (gloo).

    ``torch.nn.SyncBatchNorm`` only runs on GPUs, and paper configs use ``SyncBN`` in their
    backbones and necks. On CPU every SyncBN layer is reverted to mmengine's ``_BatchNormXd``
    (per-process statistics, any input rank) before wrapping, as mmengine does for
    non-distributed runs. ``tools/train.py`` selects this wrapper when no GPU is present.
    """

    def __init__(self, module, **kwargs) -> None:
        kwargs['device_ids'] = None
        super().__init__(module=revert_sync_batchnorm(module), **kwargs)
