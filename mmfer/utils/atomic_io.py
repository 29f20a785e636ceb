# Copyright (c) mmfer contributors. All rights reserved.
"""Atomic file writing (temporary file + rename) shared by every mmfer writer of results.

:func:`atomic_open` is the one way mmfer writes checkpoints (through
:class:`mmfer.utils.AtomicLocalBackend`), landmark files and their part files: bytes go to a
hidden temporary file ``.<name>.<8 random characters>.tmp`` next to the destination, are
flushed and fsync-ed, get the mode ``open()`` / ``torch.save`` would give them
(``0o666 & ~umask``, not ``mkstemp``'s private 0600) and are renamed over the destination
(``os.replace`` is atomic on POSIX and Windows). A run killed mid-write leaves the previous
file intact and, at worst, one temporary file, which :func:`clean_stale_temp_files` removes
on the next start in that folder.
"""
import os
import os.path as osp
import re
import tempfile
from contextlib import contextmanager
from typing import BinaryIO, Iterator, List, Optional, Union

__all__ = ['atomic_open', 'default_file_mode', 'clean_stale_temp_files', 'TEMP_FILE_PATTERN']

_TEMP_SUFFIX = '.tmp'
#: Names :func:`atomic_open` gives its temporary files (``.iter_4.pth.k2_9abcd.tmp``), and
#: those of mmfer < 0.2's checkpoint writer (``.iter_4.pth.3x0ar64f``: no ``.tmp``).
TEMP_FILE_PATTERN = re.compile(r'^\.(?:.+\.[a-z0-9_]{8}\.tmp|.+\.pth\.[a-z0-9_]{8})$')


def _umask() -> int:
    # /proc/self/status (Linux >= 4.7) reads the umask without changing it: setting it, even
    # for a moment, would give files created by other threads meanwhile the wrong mode
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode a new file gets from ``open()`` / ``torch.save``: ``0o666 & ~umask``."""
    return 0o666 & ~_umask()


@contextmanager
def atomic_open(path: Union[str, os.PathLike]) -> Iterator[BinaryIO]:
    """Open ``path`` for writing bytes, atomically: the file appears complete or not at all.

    Example::

        with atomic_open('work_dirs/run/iter_4.pth') as f:
            f.write(data)

    Args:
        path (str | PathLike): The destination. Its folder is created when missing.

    Yields:
        BinaryIO: The temporary file; on a clean exit it is fsync-ed, given the mode
        ``0o666 & ~umask`` and renamed to ``path``. On an exception (also
        ``KeyboardInterrupt``) it is removed and ``path`` is untouched.
    """
    path = str(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(path) + '.', suffix=_TEMP_SUFFIX,
                               dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def clean_stale_temp_files(folder: str, older_than: float,
                           logger: Optional[object] = None) -> List[str]:
    """Remove temporary files that :func:`atomic_open` left in ``folder`` when a run was killed.

    Only files named like :data:`TEMP_FILE_PATTERN` and last modified before ``older_than``
    are removed: call it while holding the folder's lock (:class:`mmfer.utils.WorkDirLock`)
    with the lock's start time, so that no live writer's file can match.

    Args:
        folder (str): The folder (not recursive).
        older_than (float): A ``time.time()`` value.
        logger: Something with ``.warning(str)`` to report the removed files; optional.

    Returns:
        list[str]: The removed paths.
    """
    if not osp.isdir(folder):
        return []
    removed = []
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if not TEMP_FILE_PATTERN.match(name) or not osp.isfile(path):
            continue
        try:
            if os.stat(path).st_mtime >= older_than:
                continue
            size = os.stat(path).st_size
            os.remove(path)
        except FileNotFoundError:  # removed meanwhile
            continue
        removed.append(path)
        if logger is not None:
            logger.warning(f'removed {path} ({size} bytes): the partial file of an '
                           'interrupted write')
    return removed
