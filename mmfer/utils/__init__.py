# Copyright (c) mmfer contributors. All rights reserved.
from .atomic_io import atomic_open, clean_stale_temp_files, default_file_mode
from .checkpoint import (AtomicLocalBackend, InvalidCheckpointError, UnsafeCheckpointError,
                         check_checkpoint_file, checkpoint_safe_globals, extract_state_dict,
                         find_latest_checkpoint,
                         load_checkpoint_file,
                         register_checkpoint_safe_globals)
from .console import QuietConsoleFilter, quiet_console
from .setup_env import register_all_modules
from .threads import available_cpus, choose_num_threads, setup_torch_threads
from .work_dir_lock import WorkDirLock, WorkDirLockedError

__all__ = [
    'AtomicLocalBackend', 'UnsafeCheckpointError', 'InvalidCheckpointError',
    'checkpoint_safe_globals', 'check_checkpoint_file',
    'extract_state_dict',
    'find_latest_checkpoint',
    'load_checkpoint_file', 'register_checkpoint_safe_globals', 'register_all_modules',
    'available_cpus', 'choose_num_threads', 'setup_torch_threads', 'QuietConsoleFilter',
    'quiet_console',
    'atomic_open', 'clean_stale_temp_files', 'default_file_mode',
    'WorkDirLock', 'WorkDirLockedError'
]
