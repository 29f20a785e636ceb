# Copyright (c) mmfer contributors. All rights reserved.
"""FERRunner: load_from through the one backbone loader, strict resume (mmengine's Runner
loads both non-strictly and silently; each test shows that first)."""
import pytest
import torch
from mmengine.config import Config
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
