# Copyright (c) mmfer contributors. All rights reserved.
from .ema_momentum_logger_hook import EMAMomentumLoggerHook, ema_decay  # noqa: F401
