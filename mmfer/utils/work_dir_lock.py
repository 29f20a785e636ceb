# Copyright (c) mmfer contributors. All rights reserved.
"""One work dir, one run: a lock file ``<work_dir>/.mmfer.lock``.

Two runs writing into one work dir overwrite each other's checkpoints, ``last_checkpoint``
and config copy (``max_keep_ckpts`` of one deletes the other's files), and both exit 0.
:class:`WorkDirLock` makes the second run stop at start-up with an error naming the first.

How it works:

- The lock file holds the holder's host, pid, process start time, start time and command
  (JSON), so an error can say who holds it.
- It is created ``O_CREAT`` and locked with ``flock`` (the kernel releases a ``flock`` when
  the holder dies, even by SIGKILL). A second process, or a second lock object in the same
  process, fails to ``flock`` it and gets :class:`WorkDirLockedError`.
- A lock file nobody ``flock``-s is *stale* when it names a process of this host that no
  longer exists (or whose pid now belongs to another process): it is taken over, and
  :attr:`WorkDirLock.previous` tells the caller what it replaced, to log a warning. A file
  naming another host is not taken over (mmfer cannot check that host's processes): the
  error says to delete it if that run is gone.
- :meth:`WorkDirLock.release` deletes the file; it runs at interpreter exit for every lock
  still held (also after an uncaught exception).
- On a filesystem without ``flock`` support the pid check alone decides (logged once).
"""
import atexit
import errno
import json
import os
import os.path as osp
import shlex
import socket
import sys
import time
from datetime import datetime
from typing import Optional, Set

try:
    import fcntl
except ImportError:  # Windows: pid check only
    fcntl = None

__all__ = ['WorkDirLock', 'WorkDirLockedError', 'LOCK_FILENAME']

#: Name of the lock file inside the work dir.
LOCK_FILENAME = '.mmfer.lock'

_HELD: Set['WorkDirLock'] = set()


class WorkDirLockedError(RuntimeError):
    """Another run holds the work dir."""


def _proc_start(pid: int) -> Optional[str]:
    """The start time of process ``pid`` in clock ticks since boot (Linux), or None."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(')') + 2:].split()
    return fields[19] if len(fields) > 19 else None  # field 22 of proc(5)


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    except OSError:
        return False
    return True


def _holder_is_alive(holder: dict) -> Optional[bool]:
    """True / False for a holder on this host; None when it is on another host."""
    if 'pid' not in holder:  # unreadable record: nobody can be identified as its holder
        return False
    if holder.get('host') != socket.gethostname():
        return None
    pid = holder.get('pid')
    if not isinstance(pid, int) or not _pid_exists(pid):
        return False
    recorded, current = holder.get('proc_start'), _proc_start(pid)
    if recorded is not None and current is not None and recorded != current:
        return False  # the pid now belongs to another process
    return True


def describe_holder(holder: dict) -> str:
    """``pid 123 on host h, started 2026-01-01 10:00:00, command: python tools/train.py ...``"""
    if 'pid' not in holder:
        return f'unknown holder ({holder.get("raw", "")[:200]!r})'
    text = f'pid {holder["pid"]} on host {holder.get("host", "?")}'
    if holder.get('started'):
        text += f', started {holder["started"]}'
    if holder.get('command'):
        text += f', command: {holder["command"]}'
    return text


class WorkDirLock:
    """An exclusive lock on a work dir for the lifetime of one run (see the module docstring).

    Example::

        lock = WorkDirLock('work_dirs/run').acquire()   # WorkDirLockedError if taken
        try:
            ...                                         # train
        finally:
            lock.release()

    Args:
        work_dir (str): The folder; created when missing.

    Attributes:
        path (str): The lock file.
        start_time (float | None): ``time.time()`` when this object took the lock.
        previous (dict | None): After :meth:`acquire`, the holder of a stale lock that was
            taken over (host, pid, started, command), else None.
        notes (list[str]): What :meth:`acquire` wants logged (stale lock taken over, no
            ``flock`` support).
    """

    def __init__(self, work_dir: str) -> None:
        self.work_dir = osp.abspath(work_dir)
        self.path = osp.join(self.work_dir, LOCK_FILENAME)
        self.start_time: Optional[float] = None
        self.previous: Optional[dict] = None
        self.notes = []
        self._fd: Optional[int] = None
        self._owner_pid: Optional[int] = None

    @property
    def held(self) -> bool:
        return self._fd is not None and self._owner_pid == os.getpid()

    def __enter__(self) -> 'WorkDirLock':
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    # ------------------------------------------------------------------------------ acquire
    def _busy(self, holder: dict, alive: Optional[bool]) -> WorkDirLockedError:
        msg = (f'work dir {self.work_dir} is in use by another run ({describe_holder(holder)}). '
               'Two runs in one work dir overwrite each other\'s checkpoints and config: '
               'wait for that run to end or pass another --work-dir.')
        if alive is None and 'host' in holder:
            msg += (f' mmfer cannot check from host {socket.gethostname()} whether that run '
                    f'still exists; if it does not, delete {self.path}.')
        elif alive is False:
            msg += (' That process has exited, but a process it started (e.g. a data-loader '
                    'worker) still holds the lock; it should exit shortly.')
        msg += f' (lock file: {self.path})'
        return WorkDirLockedError(msg)

    @staticmethod
    def _read(fd: int) -> dict:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = b''
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            raw += chunk
        text = raw.decode('utf-8', 'replace').strip()
        if not text:
            return {}
        try:
            holder = json.loads(text)
        except ValueError:
            return {'raw': text}
        return holder if isinstance(holder, dict) else {'raw': text}

    @staticmethod
    def _flock(fd: int) -> Optional[bool]:
        """True: locked; False: another holder; None: ``flock`` is not supported here."""
        if fcntl is None:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            return None
        return True

    def acquire(self) -> 'WorkDirLock':
        """Take the lock.

        Returns:
            WorkDirLock: self.

        Raises:
            WorkDirLockedError: Another live run holds it (its host, pid, start and command
                are in the message), or its holder is on another host.
        """
        if self.held:
            return self
        os.makedirs(self.work_dir, exist_ok=True)
        for _ in range(10):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                locked = self._flock(fd)
                if locked is False:
                    holder = self._read(fd)
                    raise self._busy(holder, _holder_is_alive(holder) if holder else True)
                if locked:
                    # the holder may have released (unlinked) the file between our open and
                    # flock: then we locked an orphan; start again on the current file
                    try:
                        current = os.stat(self.path)
                    except FileNotFoundError:
                        current = None
                    mine = os.fstat(fd)
                    if current is None or (current.st_ino, current.st_dev) != (mine.st_ino,
                                                                              mine.st_dev):
                        os.close(fd)
                        continue
                else:
                    self.notes.append(f'{self.path}: this filesystem does not support flock; '
                                      'the work-dir lock checks the holder\'s pid only')
                holder = self._read(fd)
                if holder:
                    alive = _holder_is_alive(holder)
                    if alive is not False:
                        raise self._busy(holder, alive)
                    self.previous = holder
                    self.notes.append(
                        f'took over the stale lock {self.path} of a run that ended without '
                        f'releasing it ({describe_holder(holder)}; that process no longer '
                        'exists)')
                self.start_time = time.time()
                record = dict(host=socket.gethostname(), pid=os.getpid(),
                              proc_start=_proc_start(os.getpid()),
                              started=datetime.fromtimestamp(self.start_time).strftime(
                                  '%Y-%m-%d %H:%M:%S'),
                              start_time=self.start_time,
                              command=shlex.join([sys.executable] + sys.argv))
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, (json.dumps(record, indent=1) + '\n').encode())
                os.fsync(fd)
            except BaseException:
                os.close(fd)
                raise
            self._fd, self._owner_pid = fd, os.getpid()
            _HELD.add(self)
            return self
        raise WorkDirLockedError(f'could not take the lock {self.path}: it was replaced '
                                 '10 times while trying (another run starting?)')

    def release(self) -> None:
        """Delete the lock file and unlock (idempotent; a forked child never releases)."""
        if not self.held:
            return
        fd, self._fd = self._fd, None
        _HELD.discard(self)
        try:
            mine, current = os.fstat(fd), os.stat(self.path)
            if (mine.st_ino, mine.st_dev) == (current.st_ino, current.st_dev):
                os.unlink(self.path)
        except OSError:
            pass
        finally:
            os.close(fd)  # releases the flock


@atexit.register
def _release_all() -> None:
    for lock in list(_HELD):
        lock.release()
