# Copyright (c) mmfer contributors. All rights reserved.
import math

import pytest
import torch


def test_importable_from_mmfer_models_with_docstring():
    from mmfer.models import intra_class_normalize
    assert 'N(v)' in intra_class_normalize.__doc__


def test_matches_formula_row_by_row():
    from mmfer.models import intra_class_normalize
    torch.manual_seed(0)
    x = torch.randn(9, 5, dtype=torch.float64)
    w = torch.randn(4, 5, dtype=torch.float64) * 3  # not normalised: done inside
    y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3, 3])
    out = intra_class_normalize(x, w, y)
    for i in range(9):
        wy = w[y[i]] / math.sqrt(float((w[y[i]] ** 2).sum()))
        d = x[i] - wy
        exp = d / math.sqrt(float((d ** 2).sum()))
        assert torch.allclose(out[i], exp, atol=1e-12)
    assert torch.allclose(out.norm(dim=1), torch.ones(9, dtype=torch.float64))


def test_gradient_reaches_classifier_weight_and_bad_inputs():
    from mmfer.models import intra_class_normalize
    w = torch.randn(3, 4, requires_grad=True)
    x = torch.randn(5, 4)
    intra_class_normalize(x, w, torch.tensor([0, 0, 1, 1, 1])).sum().backward()
    assert w.grad[0].abs().sum() > 0 and w.grad[1].abs().sum() > 0
    assert w.grad[2].abs().sum() == 0  # class 2 unused
    with pytest.raises(ValueError, match=r'labels must be in \[0, 3\)'):
        intra_class_normalize(x, w, torch.tensor([0, 1, 2, 3, 0]))
    with pytest.raises(ValueError, match='same D'):
        intra_class_normalize(torch.randn(5, 3), w, torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match='4 labels for 5 rows'):
        intra_class_normalize(x, w, torch.zeros(4, dtype=torch.long))
