# Copyright (c) mmfer contributors. All rights reserved.
import pytest
import torch

from mmfer.models.utils.checkpoint_mapping import map_backbone_state_dict
from mmfer.registry import MODELS


def _contrawarp_like_checkpoint(path, backbone):
    sd = {}
    for k, v in backbone.state_dict().items():
        sd[f'backbone.{k}'] = v.clone()
        sd[f'target_net.module.0.{k}'] = torch.zeros_like(v)
    sd['neck.mlp.0.weight'] = torch.randn(4, 4)
    sd['head.predictor.mlp.0.weight'] = torch.randn(4, 4)
    sd['landmark_head.final_layer.weight'] = torch.randn(68, 8, 1, 1)
    torch.save({'meta': {'iter': 3}, 'state_dict': sd}, path)
    return sd


def test_map_backbone_state_dict_keeps_backbone_only():
    sd = {'module.backbone.conv1.weight': torch.ones(2, 3), 'target_net.0.conv1.weight':
          torch.zeros(2, 3), 'neck.fc.weight': torch.ones(1), 'other.x': torch.ones(1)}
    mapped, report = map_backbone_state_dict(sd, {'conv1.weight': (2, 3), 'fc.weight': (5, )})
    assert list(mapped) == ['conv1.weight'] and torch.all(mapped['conv1.weight'] == 1)
    assert report['dropped'] == ['target_net.0.conv1.weight', 'neck.fc.weight']
    assert report['unused'] == ['other.x'] and report['missing'] == ['fc.weight']
    with pytest.raises(ValueError, match=r"my.pth: no key starts with 'backbone.'.*"
                       r"'target_net.': 1"):
        map_backbone_state_dict({'target_net.a': torch.ones(1)}, source='my.pth')
    with pytest.raises(ValueError, match=r'keys differ in shape'):
        map_backbone_state_dict({'backbone.conv1.weight': torch.ones(4, 3)},
                                {'conv1.weight': (2, 3)})


def test_pretrained_backbone_initialiser(tmp_path):
    src = MODELS.build(dict(type='ResNet', depth=18))
    for p in src.parameters():
        torch.nn.init.normal_(p)
    ckpt = str(tmp_path / 'contrawarp.pth')
    _contrawarp_like_checkpoint(ckpt, src)
    dst = MODELS.build(dict(type='ResNet', depth=18, zero_init_residual=False, init_cfg=dict(
        type='PretrainedBackbone', checkpoint=ckpt)))
    dst.init_weights()
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        assert torch.equal(a, b), k
    # nothing matches: a ResNet-50 cannot take ResNet-18 weights -> clear error
    wrong = MODELS.build(dict(type='ResNet', depth=50, init_cfg=dict(
        type='PretrainedBackbone', checkpoint=ckpt)))
    with pytest.raises(ValueError, match=r'contrawarp.pth: only \d+ of its keys match .*'
                       r'weights of the target backbone'):
        wrong.init_weights()
    with pytest.raises(ValueError, match=r'none of its keys matches'):
        map_backbone_state_dict(torch.load(ckpt)['state_dict'],
                                {'blocks.0.weight': (3, )})
    # no checkpoint: ResNet's default init (BN weights 1, not zeroed)
    plain = MODELS.build(dict(type='ResNet', depth=18, zero_init_residual=False,
                              init_cfg=dict(type='PretrainedBackbone', checkpoint=None)))
    plain.init_weights()
    assert torch.all(plain.layer1[0].norm2.weight == 1)
