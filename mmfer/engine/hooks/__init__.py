# Copyright (c) mmfer contributors. All rights reserved.
from .instdisc_checkpoint_hook import InstDiscCheckpointHook  # noqa: F401
from .ema_momentum_logger_hook import EMAMomentumLoggerHook, ema_decay  # noqa: F401
from .feature_monitor_hook import FeatureMonitorHook  # noqa: F401
