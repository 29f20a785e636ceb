# Copyright (c) mmfer contributors. All rights reserved.
from .checkpoint import (AtomicLocalBackend, UnsafeCheckpointError,
                         checkpoint_safe_globals, extract_state_dict,
                         find_latest_checkpoint,
                         load_checkpoint_file,
                         register_checkpoint_safe_globals)
from .console import QuietConsoleFilter, quiet_console
from .setup_env import register_all_modules
from .threads import available_cpus, choose_num_threads, setup_torch_threads

__all__ = [
    'AtomicLocalBackend', 'UnsafeCheckpointError', 'checkpoint_safe_globals',
    'extract_state_dict',
    'find_latest_checkpoint',
    'load_checkpoint_file', 'register_checkpoint_safe_globals', 'register_all_modules',
    'available_cpus', 'choose_num_threads', 'setup_torch_threads', 'QuietConsoleFilter',
    'quiet_console'
]
