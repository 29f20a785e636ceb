# Copyright (c) mmfer contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from mmfer.models.target_generators import EyeMouthDescriptor, top_similar_samples
from mmfer.registry import MODELS


def test_refuses_random_weights_unless_allowed(tmp_path):
    with pytest.raises(ValueError, match='allow_random_descriptor'):
        MODELS.build(dict(type='EyeMouthDescriptor'))
    with pytest.raises(FileNotFoundError, match='does_not_exist.pth'):
        EyeMouthDescriptor(checkpoint=str(tmp_path / 'does_not_exist.pth'))
    with pytest.warns(UserWarning, match='RANDOMLY INITIALISED'):
        EyeMouthDescriptor(allow_random_descriptor=True)


def test_loads_torchvision_weights_frozen_and_describes(tmp_path):
    import torchvision
    ref = torchvision.models.resnet18(weights=None)
    ckpt = tmp_path / 'resnet18.pth'
    torch.save(ref.state_dict(), ckpt)
    desc = MODELS.build(dict(type='EyeMouthDescriptor', checkpoint=str(ckpt),
                             eye_size=(16, 32), mouth_size=(16, 32)))
    assert torch.equal(desc.net.conv1.weight, ref.conv1.weight)
    assert not any(p.requires_grad for p in desc.parameters())
    desc.init_weights()  # the runner's init must not touch the loaded weights
    assert torch.equal(desc.net.conv1.weight, ref.conv1.weight)
    desc.train()
    assert not desc.net.training  # frozen BN statistics
    imgs = torch.randn(3, 3, 64, 64)
    kpts = torch.rand(3, 68, 2) * 40 + 10
    out = desc(imgs, kpts)
    assert out.shape == (3, 1024)
    assert torch.allclose(out.norm(dim=1), torch.ones(3), atol=1e-5)
    # only the eye and mouth boxes matter: changing pixels far from them changes nothing
    kpts[:] = torch.tensor([20., 20.])  # every landmark in a small square around (20, 20)
    far = imgs.clone()
    far[:, :, 50:, 50:] += 5
    assert torch.allclose(desc(imgs, kpts), desc(far, kpts), atol=1e-6)

    bad = tmp_path / 'bad.pth'
    torch.save({'conv1.weight': ref.conv1.weight}, bad)
    with pytest.raises(ValueError, match='not a torchvision resnet18'):
        EyeMouthDescriptor(checkpoint=str(bad))


def test_top_similar_samples():
    d = F.normalize(torch.tensor([[1., 0.], [0.9, 0.1], [0., 1.], [0.1, 0.9], [1., 1.]]), dim=1)
    picked = top_similar_samples(d, 1)
    assert picked.flatten().tolist() == [1, 0, 3, 2, 1]
    valid = torch.tensor([True, False, True, True, True])
    picked = top_similar_samples(d, 2, valid)
    assert picked[1].tolist() == [-1, -1]  # invalid: mines nothing
    assert 1 not in picked.flatten().tolist()  # and is never mined
    assert picked[0].tolist() == [4, 3]
    with pytest.raises(ValueError, match='num_false_negatives=5'):
        top_similar_samples(d, 5)
