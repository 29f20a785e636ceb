# Copyright (c) mmfer contributors. All rights reserved.
"""linear_probe (one fit) and linear_probe_eval (the validation protocol)."""
import numpy as np
import pytest
import torch

from mmfer.evaluation import linear_probe, linear_probe_eval, validation_split


def _blobs(n_per=20, dim=16, classes=3, spread=0.3, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=g) * 3
    y = torch.arange(classes).repeat_interleave(n_per)
    return centres[y] + spread * torch.randn(len(y), dim, generator=g), y


def test_linear_probe_separable_and_seeded():
    x, y = _blobs()
    xt, yt = _blobs(n_per=10, seed=0)
    for opt in ('lbfgs', 'sgd'):
        pred, scores = linear_probe(x, y, xt, optimizer=opt, epochs=30)
        assert scores.shape == (30, 3) and pred.dtype == torch.long
        assert (pred == yt).all(), opt
    a = linear_probe(x, y, xt, optimizer='sgd', epochs=3, seed=5)[1]
    b = linear_probe(x, y, xt, optimizer='sgd', epochs=3, seed=5)[1]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    # a stronger weight decay shrinks the scores
    small = linear_probe(x, y, xt, weight_decay=1e-6, epochs=50)[1].abs().mean()
    large = linear_probe(x, y, xt, weight_decay=10.0, epochs=50)[1].abs().mean()
    assert large < small
    with pytest.raises(ValueError, match="optimizer must be 'lbfgs' or 'sgd'"):
        linear_probe(x, y, xt, optimizer='adam')


def test_class_balanced_weights_help_the_rare_class():
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(95, 2, generator=g) + torch.tensor([1.0, 0.0]),
                   torch.randn(5, 2, generator=g) - torch.tensor([1.0, 0.0])])
    y = torch.tensor([0] * 95 + [1] * 5)
    xt = torch.tensor([[-1.0, 0.0], [-0.5, 0.3]])
    plain = linear_probe(x, y, xt, weight_decay=1e-3)[0]
    balanced = linear_probe(x, y, xt, weight_decay=1e-3, class_balanced=True)[0]
    assert balanced.tolist() == [1, 1] and plain.tolist() != [1, 1]


def test_validation_split_grouped_and_stratified():
    y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    groups = ['a', 'a', 'b', 'b', 'c', 'c', 'd', 'd', 'e', 'e']
    fit, val = validation_split(y, groups, val_fraction=0.4, seed=0)
    assert sorted(fit.tolist() + val.tolist()) == list(range(10))
    gf = {groups[i] for i in fit.tolist()}
    gv = {groups[i] for i in val.tolist()}
    assert len(gv) == 2 and not gf & gv  # whole people on one side
    assert validation_split(y, groups, 0.4, seed=0)[1].tolist() == val.tolist()
    assert any(validation_split(y, groups, 0.4, seed=s)[1].tolist() != val.tolist()
               for s in range(1, 6))
    fit, val = validation_split(y, None, val_fraction=0.34, seed=0)
    assert np.bincount(y[val].numpy()).tolist() == [1, 1, 1]  # one of each class
    with pytest.raises(ValueError, match='at least 2 groups'):
        validation_split(y, ['a'] * 10)
    with pytest.raises(ValueError, match='cannot carve a validation split'):
        validation_split(torch.tensor([0, 1, 2]), None, 0.2)


def test_linear_probe_eval_chooses_on_validation_and_refits():
    x, y = _blobs(n_per=30, spread=2.5, seed=3)
    xt, _ = _blobs(n_per=5, spread=2.5, seed=3)
    fixed = linear_probe_eval(x, y, xt, weight_decay=1e-4, epochs=40)
    pred, scores = linear_probe(x, y, xt, weight_decay=1e-4, epochs=40)
    assert fixed['selection'] == 'fixed' and torch.equal(fixed['pred'], pred)
    torch.testing.assert_close(fixed['scores'], scores, rtol=0, atol=0)
    grid = (1e-4, 1e-2, 1.0)
    res = linear_probe_eval(x, y, xt, wd_grid=grid, epochs=40, seed=1)
    assert res['selection'] == 'validation' and set(res['val_accuracy']) == {
        (w, None) for w in grid}
    best = max(res['val_accuracy'].values())
    chosen = [w for (w, _), a in res['val_accuracy'].items() if a == best]
    assert res['weight_decay'] == max(chosen)  # ties: the larger weight decay
    assert res['num_fit'] + res['num_val'] == 90
    # the final probe is refitted on the whole bank with the chosen weight decay
    ref = linear_probe(x, y, xt, weight_decay=res['weight_decay'], epochs=40, seed=1)[1]
    torch.testing.assert_close(res['scores'], ref, rtol=0, atol=0)
    # the validation accuracies are those of probes fitted on the fit part only
    fit, val = validation_split(y, None, 0.2, seed=1)
    w = grid[0]
    p = linear_probe(x[fit], y[fit], x[val], weight_decay=w, epochs=40, seed=1)[0]
    assert res['val_accuracy'][(w, None)] == pytest.approx(float((p == y[val]).double().mean()))
    # SGD chooses the learning rate too
    res = linear_probe_eval(x, y, xt, optimizer='sgd', wd_grid=(1e-4, ), lr_grid=(0.01, 0.1),
                            epochs=2)
    assert set(res['val_accuracy']) == {(1e-4, 0.01), (1e-4, 0.1)} and res['lr'] in (0.01, 0.1)
