# Copyright (c) mmfer contributors. All rights reserved.
"""FERRunner: load_from through the one backbone loader, strict resume (mmengine's Runner
loads both non-strictly and silently; each test shows that first)."""
import glob
import os
import os.path as osp
import socket
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmfer.engine import FERRunner
from mmfer.models.utils import CheckpointKeyError
from mmfer.registry import RUNNERS


def _cfg(path, data, work, **kw):
    cfg = Config.fromfile(path)
    cfg.train_dataloader.dataset.data_root = data
    cfg.work_dir = str(work)
    cfg.train_cfg.max_iters = 2
    cfg.default_hooks.checkpoint.interval = 2
    cfg.merge_from_dict(kw)
    return cfg


def test_configs_use_fer_runner(tiny_cls_config, tmp_path):
    cfg = _cfg(tiny_cls_config, str(tmp_path), tmp_path / 'w')
    assert cfg.runner_type == 'FERRunner'  # from configs/_base_/default_runtime.py
    assert type(RUNNERS.build(cfg)) is FERRunner


def test_load_from_needs_the_backbone(tiny_cls_config, write_class_folders, tmp_path):
    data = write_class_folders(str(tmp_path / 'data'))
    bad = tmp_path / 'other.pth'
    torch.save({'state_dict': {'encoder.conv1.weight': torch.zeros(8, 3, 7, 7)}}, bad)
    # mmengine's Runner: loads nothing, says so in a warning, and carries on
    plain = Runner.from_cfg(_cfg(tiny_cls_config, data, tmp_path / 'a', load_from=str(bad)))
    before = plain.model.backbone.conv1.weight.clone()
    plain.load_or_resume()
    assert torch.equal(plain.model.backbone.conv1.weight, before)
    # FERRunner: an error naming the file, the prefix and the counts
    runner = RUNNERS.build(_cfg(tiny_cls_config, data, tmp_path / 'b', load_from=str(bad)))
    with pytest.raises(CheckpointKeyError, match=r"No weights of checkpoint .*other.pth match "
                       r"the ResNet: no key starts with 'backbone.'.*1 tensors"):
        runner.load_or_resume()
    # a plain backbone state dict (torchvision-style names) loads into model.backbone
    src = RUNNERS.build(_cfg(tiny_cls_config, data, tmp_path / 'c')).model
    with torch.no_grad():
        src.backbone.conv1.weight.normal_()
    torch.save(src.backbone.state_dict(), tmp_path / 'plain.pth')
    runner = RUNNERS.build(_cfg(tiny_cls_config, data, tmp_path / 'd',
                                load_from=str(tmp_path / 'plain.pth')))
    runner.load_or_resume()
    assert runner.load_report['matched'] == 'plain'
    assert torch.equal(runner.model.backbone.conv1.weight, src.backbone.conv1.weight)
    # another prefix (tools/test.py --checkpoint-prefix): e.g. a momentum encoder's weights
    torch.save({f'momentum_encoder.{k}': v for k, v in src.backbone.state_dict().items()},
               tmp_path / 'moco.pth')
    runner = RUNNERS.build(_cfg(tiny_cls_config, data, tmp_path / 'e',
                                load_from_prefix='momentum_encoder.',
                                load_from=str(tmp_path / 'moco.pth')))
    runner.load_or_resume()
    assert runner.load_report['matched'] == 'prefix'
    assert torch.equal(runner.model.backbone.conv1.weight, src.backbone.conv1.weight)


def test_resume_is_strict_and_test_needs_every_weight(tiny_cls_config, write_class_folders,
                                                      tmp_path):
    data = write_class_folders(str(tmp_path / 'data'))
    first = RUNNERS.build(_cfg(tiny_cls_config, data, tmp_path / 'run'))
    first.train()
    ckpt = torch.load(tmp_path / 'run' / 'iter_2.pth', weights_only=True)
    ckpt['state_dict']['backbone.layer4.0.conv2.weight'] = torch.zeros(64, 64, 1, 1)
    torch.save(ckpt, tmp_path / 'bad.pth')
    # mmengine's Runner resumes with that layer left at its initialisation
    plain = Runner.from_cfg(_cfg(tiny_cls_config, data, tmp_path / 'a', resume=True,
                                 load_from=str(tmp_path / 'bad.pth')))
    plain.load_or_resume()
    assert plain.iter == 2
    runner = RUNNERS.build(_cfg(tiny_cls_config, data, tmp_path / 'b', resume=True,
                                load_from=str(tmp_path / 'bad.pth')))
    with pytest.raises(CheckpointKeyError, match=r'bad.pth does not fit the model.*1 with another '
                       r'shape.*backbone.layer4.0.conv2.weight: checkpoint \(64, 64, 1, 1\)'):
        runner.load_or_resume()
    # the untouched checkpoint resumes
    runner = RUNNERS.build(_cfg(tiny_cls_config, data, tmp_path / 'c', resume=True,
                                load_from=str(tmp_path / 'run' / 'iter_2.pth')))
    runner.load_or_resume()
    assert runner.iter == 2
    # testing a classifier from a backbone-only checkpoint would evaluate a random head
    ssl = {k: v for k, v in ckpt['state_dict'].items() if k.startswith('backbone.')}
    ssl['backbone.layer4.0.conv2.weight'] = torch.zeros(64, 64, 3, 3)
    torch.save({'state_dict': ssl}, tmp_path / 'ssl.pth')
    runner = RUNNERS.build(_cfg(tiny_cls_config, data, tmp_path / 'e',
                                load_from=str(tmp_path / 'ssl.pth')))
    runner._testing = True  # what FERRunner.test() sets around mmengine's test()
    with pytest.raises(CheckpointKeyError, match=r'ssl.pth lacks 2 .*head.fc.weight'):
        runner.load_or_resume()


# --------------------------------------------------------------------- one work dir, one run
def _log_text(runner) -> str:
    """The text of the log file the runner's logger writes. Two runners built in the same
    second of one process share mmengine's logger (its name is the timestamp), and with it
    the first one's file, so the file is taken from the logger, not from ``log_dir``."""
    import logging
    paths = [h.baseFilename for h in runner.logger.handlers
             if isinstance(h, logging.FileHandler)]
    return ''.join(open(p).read() for p in paths if osp.isfile(p))


def test_one_run_per_work_dir(tiny_cls_config, write_class_folders, tmp_path):
    data = write_class_folders(str(tmp_path / 'data'))
    work = tmp_path / 'run'
    first = RUNNERS.build(_cfg(tiny_cls_config, data, work))
    # mmengine's Runner lets a second run write into the same work dir (both exit 0, one
    # run's checkpoints and config copy overwritten by the other's)
    with pytest.raises(RuntimeError) as err:
        RUNNERS.build(_cfg(tiny_cls_config, data, work))
    msg = str(err.value)
    assert f'work dir {work} is in use by another run (pid {os.getpid()} on host ' \
        f'{socket.gethostname()}, started ' in msg
    assert 'command: ' in msg and 'pass another --work-dir' in msg
    first.train()  # released when training ends
    assert not (work / '.mmfer.lock').exists()
    again = RUNNERS.build(_cfg(tiny_cls_config, data, work, resume=True))
    again.train()
    assert 'took over' not in _log_text(again)


class _Boom(Hook):

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        raise KeyError('boom')


def test_lock_released_when_the_run_fails(tiny_cls_config, write_class_folders, tmp_path):
    data = write_class_folders(str(tmp_path / 'data'))
    work = tmp_path / 'run'
    runner = RUNNERS.build(_cfg(tiny_cls_config, data, work))
    runner.register_hook(_Boom())
    with pytest.raises(KeyError, match='boom'):
        runner.train()
    assert not (work / '.mmfer.lock').exists()
    # a runner that fails while being built releases it too
    with pytest.raises(KeyError, match='NoSuchNet'):
        RUNNERS.build(_cfg(tiny_cls_config, data, work, model=dict(backbone=dict(
            type='NoSuchNet'))))
    assert not (work / '.mmfer.lock').exists()
    RUNNERS.build(_cfg(tiny_cls_config, data, work)).train()


def test_lock_of_another_process_then_stale(tiny_cls_config, write_class_folders, tmp_path):
    from mmfer.utils import WorkDirLockedError
    data = write_class_folders(str(tmp_path / 'data'))
    work = tmp_path / 'run'
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import sys, time\nfrom mmfer.utils import WorkDirLock\n'
         'WorkDirLock(sys.argv[1]).acquire()\nprint("held", flush=True)\ntime.sleep(300)',
         str(work)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        with pytest.raises(WorkDirLockedError, match=rf'in use by another run \(pid '
                           rf'{holder.pid} on host .*command: .*-c'):
            RUNNERS.build(_cfg(tiny_cls_config, data, work))
    finally:
        holder.kill()  # SIGKILL: no chance to release; the lock file stays behind
        holder.wait()
    assert (work / '.mmfer.lock').exists()
    # the killed run also left the temporary file of a checkpoint it was writing
    partial = work / '.iter_4.pth.3x0ar64f.tmp'
    partial.write_bytes(b'half a checkpoint')
    os.utime(partial, (time.time() - 60, time.time() - 60))
    keep = work / 'iter_2.pth.notes'
    keep.write_text('not a partial file')
    runner = RUNNERS.build(_cfg(tiny_cls_config, data, work))
    log = _log_text(runner)
    assert f'took over the stale lock {work / ".mmfer.lock"}' in log
    assert f'pid {holder.pid} on host {socket.gethostname()}' in log
    assert f'removed {partial}: the partial file of a write that was interrupted' in log
    assert not partial.exists() and keep.exists()
    runner.train()


# ------------------------------------------------------------------------------ config checks
def test_top_level_typo_is_reported(tiny_cls_config, write_class_folders, tmp_path):
    data = write_class_folders(str(tmp_path / 'data'))
    src = RUNNERS.build(_cfg(tiny_cls_config, data, tmp_path / 'a'))
    src.train()
    ckpt = str(tmp_path / 'a' / 'iter_2.pth')
    # load_form= is ignored by mmengine: the run trains from scratch without a word
    runner = RUNNERS.build(_cfg(tiny_cls_config, data, tmp_path / 'b', load_form=ckpt,
                                data_root=data))
    log = _log_text(runner)
    assert "unknown top-level config key 'load_form'" in log
    assert "did you mean 'load_from'?" in log
    # a key no file of the config defines (e.g. --cfg-options data_root=...) is named too
    assert "unknown top-level config key 'data_root'" in log
    assert 'train_dataloader.dataset.data_root=' in log


def test_no_config_triggers_the_unknown_key_warning(repo_root):
    from mmengine.config import Config
    from mmfer.engine.runners.config_checks import unknown_top_level_keys
    paths = sorted(glob.glob(osp.join(repo_root, 'configs', '**', '*.py'), recursive=True))
    paths = [p for p in paths if '/_base_/' not in p]
    assert len(paths) > 40
    noisy = {p: m for p in paths if (m := unknown_top_level_keys(Config.fromfile(p)))}
    assert noisy == {}
    # the rule itself: typos of known keys, keys from outside the files; helper variables
    # the files use (pipelines, data_root) or only define are not reported
    cfg = Config.fromfile(osp.join(repo_root, 'configs/ssl_study/byol_resnet18-w16_1xb64-sgd-coslr_synthetic48.py'))
    cfg.merge_from_dict(dict(trian_cfg=dict(max_iters=1), work_dri='x', lr=0.1,
                             resume_from='x.pth'))
    msgs = '\n'.join(unknown_top_level_keys(cfg))
    assert "'trian_cfg'" in msgs and "did you mean 'train_cfg'" in msgs
    assert "did you mean 'work_dir'" in msgs
    assert "'resume_from'" in msgs  # mmcv 1.x's key: mmengine reads resume + load_from
    assert "'lr'" in msgs  # not defined by any file of this config
    for helper in ('train_pipeline', 'data_root', 'view_pipeline'):
        assert f"'{helper}'" not in msgs
    # FERRunner's own keys (tools/train.py --quiet, the SSL study) are known
    cfg.merge_from_dict(dict(console_log_level='WARNING', console_progress=False))
    msgs = '\n'.join(unknown_top_level_keys(cfg))
    assert 'console_log_level' not in msgs and 'console_progress' not in msgs


@pytest.mark.parametrize('train_cfg,key', [(dict(by_epoch=False, max_iters=0), 'max_iters'),
                                           (dict(by_epoch=False, max_iters=-5), 'max_iters'),
                                           (dict(by_epoch=True, max_epochs=0), 'max_epochs')])
def test_non_positive_schedules_are_refused(tiny_cls_config, tmp_path, train_cfg, key):
    cfg = _cfg(tiny_cls_config, str(tmp_path), tmp_path / 'w')
    cfg.train_cfg = train_cfg
    # mmengine runs zero iterations and exits normally
    with pytest.raises(ValueError, match=rf'train_cfg.{key} must be a positive integer, got '
                       rf'{train_cfg[key]} \(.*tiny_cls.py\)'):
        RUNNERS.build(cfg)
    assert not (tmp_path / 'w').exists()  # refused before anything is written


def test_load_from_is_checked_before_any_work(tiny_cls_config, tmp_path):
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(ValueError, match=rf'checkpoint {empty} is an empty file'):
        RUNNERS.build(_cfg(tiny_cls_config, str(tmp_path), tmp_path / 'w',
                           load_from=str(empty)))
    assert not (tmp_path / 'w').exists()


def test_training_ends_by_saying_where_the_results_are(tiny_cls_config, write_class_folders,
                                                       tmp_path):
    data = write_class_folders(str(tmp_path / 'data'))
    runner = RUNNERS.build(_cfg(tiny_cls_config, data, tmp_path / 'w'))
    runner.train()
    log = _log_text(runner)
    assert 'Training finished after 2 iterations' in log
    assert f'work dir:        {tmp_path / "w"}' in log
    assert f'last checkpoint: {tmp_path / "w" / "iter_2.pth"}' in log
    assert f'log:             {osp.join(runner.log_dir, runner.timestamp + ".log")}' in log
