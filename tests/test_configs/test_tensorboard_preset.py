# Copyright (c) mmfer contributors. All rights reserved.
"""configs/_base_/default_runtime_tensorboard.py adds TensorBoard to the local JSON logs."""
import glob
import os

import pytest
from mmengine.config import Config

from mmfer.registry import VISUALIZERS


@pytest.mark.parametrize('how', ['base', 'leaf_override'])
def test_tensorboard_logging_writes_events_and_json(tmp_path, repo_root, how):
    pytest.importorskip('tensorboard', reason='the [tensorboard] extra is not installed')
    base = os.path.join(repo_root, 'configs', '_base_')
    cfg_file = tmp_path / 'cfg.py'
    if how == 'base':  # a config built on the preset
        preset = os.path.join(base, 'default_runtime_tensorboard.py')
        cfg_file.write_text(f'_base_ = [{preset!r}]\n')
    else:  # an existing config extended in a one-line child config (what the README shows)
        cfg_file.write_text(
            f'_base_ = [{os.path.join(base, "default_runtime.py")!r}]\n'
            "visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), "
            "dict(type='TensorboardVisBackend')])\n")
    cfg = Config.fromfile(str(cfg_file))
    assert cfg.visualizer.type == 'mmpretrain.UniversalVisualizer'
    assert [b['type'] for b in cfg.visualizer.vis_backends] == ['LocalVisBackend',
                                                                'TensorboardVisBackend']
    vis = VISUALIZERS.build(dict(cfg.visualizer, name=f'tb_preset_{how}',
                                 save_dir=str(tmp_path)))  # writes <save_dir>/vis_data
    vis.add_scalars({'loss': 1.5}, step=1)
    vis.close()
    assert os.path.isfile(tmp_path / 'vis_data' / 'scalars.json')
    assert glob.glob(str(tmp_path / 'vis_data' / '**' / 'events.out.tfevents.*'),
                     recursive=True)
