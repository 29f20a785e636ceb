# Copyright (c) mmfer contributors. All rights reserved.
from .instdisc_checkpoint_hook import InstDiscCheckpointHook  # noqa: F401
