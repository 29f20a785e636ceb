# Copyright (c) mmfer contributors. All rights reserved.
"""The one backbone-weight loader: prefix / plain / DDP keys, the all-weights policy, errors."""
import pytest
import torch

from mmfer.models.utils import (CheckpointKeyError, check_state_dict_matches,
                                load_backbone_weights, load_model_weights,
                                select_backbone_state)
from mmfer.registry import MODELS

R18 = dict(type='ResNet', depth=18, out_indices=(3, ), norm_cfg=dict(type='BN'))


def _randomised(net):
    with torch.no_grad():
        for p in net.state_dict().values():
            if p.is_floating_point():
                p.normal_()
    return net


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


def test_select_prefix_plain_and_ddp_keys():
    target = {'conv1.weight': (2, 3), 'bn1.weight': (2, )}
    full = {'module.backbone.conv1.weight': torch.ones(2, 3), 'backbone.bn1.weight': torch.ones(2),
            'target_net.0.conv1.weight': torch.zeros(2, 3), 'neck.fc.weight': torch.ones(1)}
    state, report = select_backbone_state(full, target)
    assert sorted(state) == ['bn1.weight', 'conv1.weight']
    assert report['matched'] == 'prefix' and report['num_loaded'] == 2
    assert report['num_ignored'] == 2 and report['missing'] == []
    # plain names (torchvision / bare backbones): used when no key under the prefix fits
    plain = {'conv1.weight': torch.ones(2, 3), 'bn1.weight': torch.ones(2),
             'fc.weight': torch.ones(5)}
    state, report = select_backbone_state(plain, target)
    assert report['matched'] == 'plain' and sorted(state) == ['bn1.weight', 'conv1.weight']
    assert report['num_ignored'] == 1
    # another prefix (e.g. a momentum encoder)
    state, report = select_backbone_state({'momentum_encoder.conv1.weight': torch.ones(2, 3),
                                           'momentum_encoder.bn1.weight': torch.ones(2)},
                                          target, prefix='momentum_encoder')
    assert report == dict(report, matched='prefix', prefix='momentum_encoder.', num_loaded=2)


def test_policy_all_weights_required_with_clear_errors():
    target = {'conv1.weight': (2, 3), 'bn1.weight': (2, ), 'layer1.w': (4, )}
    partial = {'backbone.conv1.weight': torch.ones(2, 3), 'backbone.bn1.weight': torch.ones(5)}
    with pytest.raises(CheckpointKeyError) as err:
        select_backbone_state(partial, target, source='checkpoint my.pth')
    msg = str(err.value)
    assert msg.startswith('checkpoint my.pth: found 1 of the 3 weights')
    assert "prefix 'backbone.'" in msg and 'all of them are required' in msg
    assert "1 missing, e.g. ['layer1.w']" in msg
    assert '1 with another shape' in msg and 'bn1.weight: checkpoint (5,) vs model (2,)' in msg
    assert isinstance(err.value, KeyError) and isinstance(err.value, ValueError)
    # a documented smaller fraction accepts the partial match and reports what is missing
    state, report = select_backbone_state(partial, target, min_fraction=0.3)
    assert list(state) == ['conv1.weight'] and report['missing'] == ['layer1.w']
    with pytest.raises(CheckpointKeyError, match='at least 50% of them are required'):
        select_backbone_state(partial, target, min_fraction=0.5)
    with pytest.raises(CheckpointKeyError, match=r"No weights of a.pth match .*no key starts "
                       r"with 'backbone.'.*'target_net.': 1"):
        select_backbone_state({'target_net.a': torch.ones(1)}, target, source='a.pth')
    nan = {'backbone.conv1.weight': torch.full((2, 3), float('nan')),
           'backbone.bn1.weight': torch.ones(2), 'backbone.layer1.w': torch.ones(4)}
    with pytest.raises(CheckpointKeyError, match=r"nan.pth: 1 backbone tensors hold NaN/inf.*"
                       r"conv1.weight.*diverged"):
        select_backbone_state(nan, target, source='nan.pth')
    assert select_backbone_state(nan, target, check_finite=False)[1]['num_loaded'] == 3


def test_torchvision_resnet18_loads_exactly(tmp_path):
    from mmfer.evaluation import pool_features
    torchvision = pytest.importorskip('torchvision')
    tv = torchvision.models.resnet18()
    torch.nn.init.normal_(tv.layer4[1].conv2.weight)
    path = tmp_path / 'tv.pth'
    torch.save(tv.state_dict(), path)  # plain keys: conv1., bn1., layer1..4., fc.
    net = MODELS.build(R18)
    report = load_backbone_weights(net, str(path))
    assert (report['matched'], report['num_loaded'], report['num_ignored']) == ('plain', 120, 2)
    torch.testing.assert_close(net.layer4[1].conv2.weight, tv.layer4[1].conv2.weight)
    net.eval()
    tv.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = torch.flatten(tv.avgpool(tv.layer4(tv.layer3(tv.layer2(tv.layer1(
            tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))))))), 1)
        torch.testing.assert_close(pool_features(net(x)), ref)
    # a deeper backbone cannot take it: missing weights, named
    with pytest.raises(CheckpointKeyError, match=r'tv.pth: found \d+ of the \d+ weights of '
                       r'the ResNet \(plain backbone names'):
        load_backbone_weights(MODELS.build(dict(type='ResNet', depth=34)), str(path))


def test_pretrained_backbone_initialiser(tmp_path):
    src = _randomised(MODELS.build(dict(type='ResNet', depth=18)))
    ckpt = str(tmp_path / 'contrawarp.pth')
    _contrawarp_like_checkpoint(ckpt, src)
    dst = MODELS.build(dict(type='ResNet', depth=18, zero_init_residual=False, init_cfg=dict(
        type='PretrainedBackbone', checkpoint=ckpt)))
    dst.init_weights()
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        assert torch.equal(a, b), k
    # a ResNet-50 cannot take ResNet-18 weights (only the stem fits): a clear error
    wrong = MODELS.build(dict(type='ResNet', depth=50, init_cfg=dict(
        type='PretrainedBackbone', checkpoint=ckpt)))
    with pytest.raises(ValueError, match=r'contrawarp.pth: found \d+ of the \d+ weights of the '
                       r"ResNet \(prefix 'backbone.'\); all of them are required"):
        wrong.init_weights()
    # no checkpoint: ResNet's default init (BN weights 1, not zeroed)
    plain = MODELS.build(dict(type='ResNet', depth=18, zero_init_residual=False,
                              init_cfg=dict(type='PretrainedBackbone', checkpoint=None)))
    plain.init_weights()
    assert torch.all(plain.layer1[0].norm2.weight == 1)


def _classifier(num_classes=3):
    return MODELS.build(dict(type='ImageClassifier', backbone=R18,
                             neck=dict(type='GlobalAveragePooling'),
                             head=dict(type='LinearClsHead', num_classes=num_classes,
                                       in_channels=512)))


def test_load_model_weights_policy():
    src = _randomised(_classifier())
    dst = _classifier()
    full = src.state_dict()
    # the same model: everything is loaded
    report = load_model_weights(dst, full, 'full.pth')
    assert report['other_loaded'] == ['head.fc.weight', 'head.fc.bias']
    assert all(torch.equal(a, b) for a, b in zip(full.values(), dst.state_dict().values()))
    # a backbone-only (SSL) checkpoint: the head keeps its initialisation in training ...
    ssl = {k: v for k, v in full.items() if k.startswith('backbone.')}
    dst = _classifier()
    head_before = dst.head.fc.weight.clone()
    report = load_model_weights(dst, ssl, 'ssl.pth')
    assert report['other_missing'] == ['head.fc.weight', 'head.fc.bias']
    assert torch.equal(dst.head.fc.weight, head_before)
    assert torch.equal(dst.backbone.conv1.weight, src.backbone.conv1.weight)
    # ... but evaluating it would use a random head: an error
    with pytest.raises(CheckpointKeyError, match=r'ssl.pth lacks 2 of the model.*head.fc.weight'
                       r'.*evaluating them would use random weights'):
        load_model_weights(_classifier(), ssl, 'ssl.pth', require_all=True)
    # another number of classes: the head is not loaded (shape), listed
    report = load_model_weights(_classifier(7), full, 'full.pth')
    assert report['other_missing'][0] == 'head.fc.weight: checkpoint (3, 512) vs model (7, 512)'
    # a plain backbone state dict (torchvision-style) loads into model.backbone
    plain = {k[len('backbone.'):]: v for k, v in ssl.items()}
    report = load_model_weights(_classifier(), plain, 'plain.pth')
    assert report['matched'] == 'plain' and report['num_loaded'] == 120
    # nothing of the backbone: an error naming the file and the prefix
    with pytest.raises(CheckpointKeyError, match=r"No weights of x.pth .*'backbone.'"):
        load_model_weights(_classifier(), {'encoder.w': torch.ones(1)}, 'x.pth')


def test_check_state_dict_matches_lists_differences():
    model = _classifier()
    state = dict(model.state_dict())
    check_state_dict_matches(model, state)  # exact: no error
    check_state_dict_matches(model, {f'module.{k}': v for k, v in state.items()})
    state['backbone.layer4.1.conv2.weight'] = torch.zeros(512, 512, 1, 1)
    state.pop('head.fc.bias')
    state['extra.w'] = torch.ones(1)
    with pytest.raises(CheckpointKeyError) as err:
        check_state_dict_matches(model, state, 'checkpoint r.pth')
    msg = str(err.value)
    assert msg.startswith('checkpoint r.pth does not fit the model (ImageClassifier')
    assert "1 missing from the checkpoint: ['head.fc.bias']" in msg
    assert "1 unexpected in the checkpoint: ['extra.w']" in msg
    assert ("1 with another shape: ['backbone.layer4.1.conv2.weight: checkpoint (512, 512, 1, 1)"
            " vs model (512, 512, 3, 3)']") in msg
