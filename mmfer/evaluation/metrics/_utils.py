# Copyright (c) mmfer contributors. All rights reserved.
"""Small helpers shared by mmfer's metrics."""
from typing import Any, Mapping

import numpy as np
import torch


def get_field(sample: Any, key: str, metric: str) -> Any:
    """``sample[key]`` for a dict or a DataSample, with an error naming the metric and key."""
    if isinstance(sample, Mapping):
        if key in sample:
            return sample[key]
    elif hasattr(sample, key):
        return getattr(sample, key)
    keys = list(sample.keys()) if hasattr(sample, 'keys') else dir(sample)
    raise KeyError(f'{metric}: data sample has no {key!r} (available: {sorted(keys)}); '
                   f'set the metric\'s key arguments to the fields your model writes')


def as_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)
