# Copyright (c) mmfer contributors. All rights reserved.
"""Checkpoints under torch >= 2.6: exact resume with weights_only=True; unsafe files refused."""
import os
import os.path as osp
import pickle
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmfer.utils import UnsafeCheckpointError, load_checkpoint_file
from mmfer.utils.checkpoint import AtomicLocalBackend, checkpoint_safe_globals

CFG = osp.join(osp.dirname(osp.dirname(__file__)), 'data', 'configs', 'tiny_cls.py')


class _Crash(Exception):
    pass


class CrashAfterIter(Hook):
    """Raises after ``n`` iterations, once the checkpoint hook has saved (lowest priority)."""
    priority = 'LOWEST'

    def __init__(self, n: int):
        self.n = n

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.n:
            raise _Crash(f'simulated crash after iteration {self.n}')


def make_runner(data_root: str, work_dir: str, max_iters: int = 8, resume: bool = False,
                load_from=None, crash_after=None) -> Runner:
    cfg = Config.fromfile(CFG)
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = max_iters
    cfg.resume = resume
    cfg.load_from = load_from
    cfg.experiment_name = f'ckpt-test-{osp.basename(work_dir)}-{int(resume)}'
    runner = Runner.from_cfg(cfg)
    if crash_after is not None:
        runner.register_hook(CrashAfterIter(crash_after))
    return runner


def state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_continues_exactly(tmp_path, write_class_folders):
    data = write_class_folders(str(tmp_path / 'data'))
    # Reference: 8 uninterrupted iterations.
    ref = make_runner(data, str(tmp_path / 'ref'))
    ref.train()
    ref_state = {k: v.clone() for k, v in ref.model.state_dict().items()}
    # Interrupted: the same run crashes after iteration 6 (last checkpoint: iter_4.pth).
    first = make_runner(data, str(tmp_path / 'run'), crash_after=6)
    with pytest.raises(_Crash):
        first.train()
    ckpt_path = str(tmp_path / 'run' / 'iter_4.pth')
    assert osp.isfile(ckpt_path) and not osp.exists(str(tmp_path / 'run' / 'iter_8.pth'))
    # The checkpoint loads with weights_only=True and carries the full training state.
    ckpt = load_checkpoint_file(ckpt_path)
    assert ckpt['meta']['iter'] == 4
    assert 'message_hub' in ckpt and 'optimizer' in ckpt and 'param_schedulers' in ckpt
    saved_momentum = {k: v['momentum_buffer'] for k, v in ckpt['optimizer']['state'].items()}

    # `--resume` without a path: the latest checkpoint of the work_dir. The state seen by
    # the first hook of the resumed run is exactly the checkpoint's.
    resumed = make_runner(data, str(tmp_path / 'run'), resume=True)
    seen = {}

    class Capture(Hook):

        def before_train(self, runner):
            seen['iter'] = runner.iter
            seen['opt'] = {k: v['momentum_buffer'].clone() for k, v in
                           runner.optim_wrapper.optimizer.state_dict()['state'].items()}
            seen['weights'] = {k: v.clone() for k, v in runner.model.state_dict().items()}
            seen['lr'] = runner.optim_wrapper.get_lr()['lr'][0]

    resumed.register_hook(Capture())
    resumed.train()
    assert seen['iter'] == 4 and resumed.iter == 8
    assert seen['opt'].keys() == saved_momentum.keys()
    assert all(torch.equal(seen['opt'][k], saved_momentum[k]) for k in saved_momentum)
    assert state_equal(ckpt['state_dict'], seen['weights'])
    assert seen['lr'] == pytest.approx(ckpt['param_schedulers'][0]['_last_value'][0])
    # Same seed, deterministic CPU ops: the resumed run ends with the same weights.
    assert state_equal(ref_state, resumed.model.state_dict())


def test_load_from_weights_only(tmp_path, write_class_folders):
    data = write_class_folders(str(tmp_path / 'data'))
    first = make_runner(data, str(tmp_path / 'a'), max_iters=4)
    first.train()
    ckpt = str(tmp_path / 'a' / 'iter_4.pth')
    other = make_runner(data, str(tmp_path / 'b'), load_from=ckpt)
    other.load_or_resume()
    assert other.iter == 0  # load_from loads weights only, no training state
    assert state_equal(first.model.state_dict(), other.model.state_dict())


class _Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null', ))


class _NotAllowed:
    pass


@pytest.mark.parametrize('payload,culprit', [(_Evil(), 'system'),
                                             (_NotAllowed(), '_NotAllowed')])
def test_crafted_checkpoint_refused(tmp_path, payload, culprit):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {'w': torch.zeros(2)}, 'meta': {'x': payload}}, path)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_file(path)
    assert path in str(err.value) and culprit in str(err.value)
    # mmengine's loaders (load_from / resume / load_checkpoint) go through the same check.
    from mmengine.runner import CheckpointLoader
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(path)


def test_restricted_getattr_refuses_other_attributes(tmp_path):
    # A checkpoint that abuses the allow-listed name builtins.getattr for anything but
    # HistoryBuffer's statistics methods is refused.
    class _Sneaky:

        def __reduce__(self):
            return (getattr, (np.ndarray, 'tofile'))

    path = str(tmp_path / 'sneaky.pth')
    torch.save({'x': _Sneaky()}, path)
    with pytest.raises(pickle.UnpicklingError, match='getattr'):
        load_checkpoint_file(path)


def test_allow_list_is_exact():
    names = {e[1] if isinstance(e, tuple) else f'{e.__module__}.{e.__qualname__}'
             for e in checkpoint_safe_globals()}
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in names
    assert 'builtins.getattr' in names
    assert all(n.startswith(('numpy', 'mmengine.logging', 'builtins.getattr')) for n in names)


def test_atomic_put_leaves_no_partial_file(tmp_path, monkeypatch):
    backend = AtomicLocalBackend()
    target = tmp_path / 'ckpt.pth'
    backend.put(b'old', str(target))

    def boom(*args, **kwargs):
        raise KeyboardInterrupt('killed while saving')

    monkeypatch.setattr(os, 'replace', boom)
    with pytest.raises(KeyboardInterrupt):
        backend.put(b'new-and-longer', str(target))
    assert target.read_bytes() == b'old'
    assert sorted(os.listdir(tmp_path)) == ['ckpt.pth']


def test_find_latest_checkpoint_survives_truncated_record(tmp_path):
    from mmfer.utils import find_latest_checkpoint
    assert find_latest_checkpoint(str(tmp_path / 'missing')) is None
    assert find_latest_checkpoint(str(tmp_path)) is None
    for n in (2, 10, 4):
        (tmp_path / f'iter_{n}.pth').write_bytes(b'x')
    (tmp_path / '.iter_12.pth.tmp123').write_bytes(b'partial')  # an interrupted atomic save
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_4.pth')
    (tmp_path / 'last_checkpoint').write_text('')  # killed while mmengine rewrote it
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_10.pth')


def test_extract_state_dict_formats():
    from mmfer.utils import extract_state_dict
    w = torch.ones(2)
    # mmengine file, DDP-saved keys, non-tensor entries dropped
    got = extract_state_dict({'meta': {}, 'state_dict': {'module.a.w': w, 'step': 3}})
    assert list(got) == ['a.w'] and got['a.w'] is w
    assert list(extract_state_dict({'model': {'b': w}})) == ['b']
    assert list(extract_state_dict({'c': w})) == ['c']  # a bare state dict
    with pytest.raises(TypeError, match='f.pth holds a list'):
        extract_state_dict([w], 'f.pth')
    with pytest.raises(ValueError, match='g.pth contains no tensors'):
        extract_state_dict({'state_dict': {'x': 1}}, 'g.pth')


# ------------------------------------------------------------------ file modes and bad files
@pytest.fixture
def umask():
    """``set(mask)`` sets the process umask for the test; the old one is restored after."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.parametrize('mask', [0o022, 0o027, 0o002])
def test_atomic_writes_respect_the_umask(tmp_path, umask, mask):
    # torch.save / open() create files 0666 & ~umask; mkstemp alone gave 0600, so teammates
    # on a shared cluster could not read the checkpoints
    umask(mask)
    target = tmp_path / 'iter_2.pth'
    AtomicLocalBackend().put(b'weights', str(target))
    assert target.read_bytes() == b'weights'
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~mask)
    torch.save({'x': torch.zeros(1)}, tmp_path / 'reference.pth')
    assert (tmp_path / 'reference.pth').stat().st_mode & 0o777 == 0o666 & ~mask


def test_stale_temp_files_are_removed_only_when_old_and_ours(tmp_path):
    from mmfer.utils import clean_stale_temp_files
    stale = [tmp_path / '.iter_4.pth.3x0ar64f', tmp_path / '.epoch_2.pth.k2_9abcd.tmp']
    kept = [tmp_path / 'iter_4.pth', tmp_path / '.iter_4.pth.short',  # not the writer's names
            tmp_path / 'notes.3x0ar64f', tmp_path / '.hidden']
    for p in stale + kept:
        p.write_bytes(b'partial')
    young = tmp_path / '.iter_6.pth.abcdefgh.tmp'  # being written by the live run
    young.write_bytes(b'partial')
    start = time.time()
    for p in stale + kept:
        os.utime(p, (start - 60, start - 60))
    os.utime(young, (start + 5, start + 5))
    removed = clean_stale_temp_files(str(tmp_path), older_than=start)
    assert sorted(removed) == sorted(str(p) for p in stale)
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in kept + [young])


def _bad_checkpoints(tmp_path):
    """name -> (bytes, the words the error must contain)."""
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.randn(2000)}}, good)
    data = good.read_bytes()
    legacy = tmp_path / 'legacy.pth'
    torch.save({'w': torch.randn(2000)}, legacy, _use_new_zipfile_serialization=False)
    np.savez(tmp_path / 'arrays.npz', w=np.zeros(3))
    return {
        'zero.pth': (b'', 'is an empty file'),
        'text.pth': (b'hello world\nthis is not a checkpoint\n',
                     'not a checkpoint (no torch zip/pickle header'),
        'notes.pth': (b'# a config, not weights\nmodel = dict()\n',
                      'not a checkpoint (no torch zip/pickle header'),
        'half.pth': (data[:len(data) // 2], 'is truncated or corrupt'),
        'head.pth': (data[:100], 'is truncated or corrupt'),
        'tail.pth': (data[:-10], 'is truncated or corrupt'),
        'legacy_half.pth': (legacy.read_bytes()[:legacy.stat().st_size // 2],
                            'is truncated or corrupt'),
        'arrays.pth': ((tmp_path / 'arrays.npz').read_bytes(),
                       'not a checkpoint (a zip archive without torch'),
    }


def test_bad_checkpoint_files_are_named_and_diagnosed(tmp_path):
    from mmengine.runner import CheckpointLoader
    for name, (payload, words) in _bad_checkpoints(tmp_path).items():
        path = tmp_path / name
        path.write_bytes(payload)
        for load in (load_checkpoint_file, CheckpointLoader.load_checkpoint):
            with pytest.raises(ValueError) as err:
                load(str(path))
            msg = str(err.value)
            assert str(path) in msg and words in msg, (name, msg)
            # never the "unsafe" diagnosis, never torch's weights_only=False hint
            assert not isinstance(err.value, UnsafeCheckpointError), (name, msg)
            assert 'weights_only' not in msg and 'unsafe' not in msg.lower(), (name, msg)


def test_check_checkpoint_file_before_any_work(tmp_path):
    from mmfer.utils import check_checkpoint_file
    for name, (payload, words) in _bad_checkpoints(tmp_path).items():
        (tmp_path / name).write_bytes(payload)
        if name == 'legacy_half.pth':  # only unpickling finds the end of a legacy file
            continue
        with pytest.raises(ValueError, match=words.replace('(', r'\(')):
            check_checkpoint_file(str(tmp_path / name))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        check_checkpoint_file(str(tmp_path / 'nope.pth'))
    with pytest.raises(ValueError, match='is a directory'):
        check_checkpoint_file(str(tmp_path))
    check_checkpoint_file(str(tmp_path / 'good.pth'))  # fine: no error
    check_checkpoint_file(str(tmp_path / 'legacy.pth'))


def test_pickle_refusal_does_not_quote_the_weights_only_hint(tmp_path):
    path = tmp_path / 'raw.pth'
    path.write_bytes(pickle.dumps({'w': 1}, protocol=5))  # a plain pickle, not torch.save
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_file(str(path))
    assert str(path) in str(err.value)
    assert 'weights_only` set to `False` will likely succeed' not in str(err.value)
