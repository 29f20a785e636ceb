# Copyright (c) mmfer contributors. All rights reserved.
"""WorkDirLock: one holder at a time, holders named, stale records taken over only when the
holder is provably gone (tests/test_engine/test_fer_runner.py covers it through FERRunner)."""
import json
import os
import socket
import subprocess
import sys

import pytest

from mmfer.utils import WorkDirLock, WorkDirLockedError
from mmfer.utils.work_dir_lock import LOCK_FILENAME


def _record(path, **fields):
    path.write_text(json.dumps(fields))


def test_acquire_release_and_second_holder(tmp_path):
    lock = WorkDirLock(str(tmp_path / 'w')).acquire()
    record = json.loads((tmp_path / 'w' / LOCK_FILENAME).read_text())
    assert record['pid'] == os.getpid() and record['host'] == socket.gethostname()
    assert record['command'] and record['started'] and record['start_time'] == lock.start_time
    # another lock object, in this process or another, is refused while it is held
    with pytest.raises(WorkDirLockedError, match=rf'in use by another run \(pid {os.getpid()}'):
        WorkDirLock(str(tmp_path / 'w')).acquire()
    lock.release()
    assert not (tmp_path / 'w' / LOCK_FILENAME).exists()
    lock.release()  # idempotent
    with WorkDirLock(str(tmp_path / 'w')) as again:
        assert again.held and again.previous is None and again.notes == []
    assert not (tmp_path / 'w' / LOCK_FILENAME).exists()


def test_stale_records(tmp_path):
    path = tmp_path / LOCK_FILENAME
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True).stdout.strip()
    # a process of this host that has exited: taken over, with a note naming it
    _record(path, host=socket.gethostname(), pid=int(dead), started='yesterday',
            command='python tools/train.py old.py')
    lock = WorkDirLock(str(tmp_path)).acquire()
    assert lock.previous['pid'] == int(dead)
    assert f'took over the stale lock {path}' in lock.notes[0]
    assert f'pid {dead} on host {socket.gethostname()}, started yesterday, command: ' \
        'python tools/train.py old.py' in lock.notes[0]
    lock.release()
    # a live pid whose process started at another time: the pid was reused, taken over
    _record(path, host=socket.gethostname(), pid=os.getpid(), proc_start='1')
    lock = WorkDirLock(str(tmp_path)).acquire()
    assert lock.previous is not None
    lock.release()
    # an unreadable record: taken over
    path.write_text('garbage')
    WorkDirLock(str(tmp_path)).acquire().release()


def test_live_or_unknown_holders_are_refused(tmp_path):
    path = tmp_path / LOCK_FILENAME
    # a record of a live process without flock (e.g. written on a filesystem without it)
    _record(path, host=socket.gethostname(), pid=os.getppid(), command='other run')
    with pytest.raises(WorkDirLockedError, match=rf'pid {os.getppid()} on host'):
        WorkDirLock(str(tmp_path)).acquire()
    # a holder on another host cannot be checked: refused, and the error says what to do
    _record(path, host='node-17', pid=4242, started='today', command='tools/train.py x.py')
    with pytest.raises(WorkDirLockedError) as err:
        WorkDirLock(str(tmp_path)).acquire()
    assert 'pid 4242 on host node-17, started today, command: tools/train.py x.py' in \
        str(err.value)
    assert f'if it does not, delete {path}' in str(err.value)
    assert path.exists()  # untouched
