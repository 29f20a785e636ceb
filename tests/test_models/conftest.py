# Copyright (c) mmfer contributors. All rights reserved.
"""Fixtures shared by the model tests."""
import pytest
from torch import nn


class IdentityBackbone(nn.Module):
    """'Backbone' returning its (N, D, 1, 1) input as a 1-tuple."""

    def forward(self, x):
        return (x, )


class FlattenNeck(nn.Module):
    """'Neck' flattening the backbone's output: the embedding is the input itself."""

    def forward(self, x):
        return (x[0].flatten(1), )


@pytest.fixture
def identity_encoder():
    """(backbone, neck) whose embedding of an (N, D, 1, 1) input is the (N, D) input: losses
    can then be checked on hand-chosen embeddings."""
    return IdentityBackbone(), FlattenNeck()
