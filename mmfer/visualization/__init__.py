# Copyright (c) mmfer contributors. All rights reserved.
from .face_visualizer import FaceVisualizer, has_display, stack_rows  # noqa: F401
from .plots import plot_embedding, plot_scalars, tsne_embedding  # noqa: F401

__all__ = ['FaceVisualizer', 'has_display', 'stack_rows', 'plot_scalars', 'plot_embedding',
           'tsne_embedding']
