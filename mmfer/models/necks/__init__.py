# Copyright (c) mmfer contributors. All rights reserved.
from .spatial_flatten import SpatialFlatten, spatial_flatten_output_size  # noqa: F401
