# Copyright (c) mmfer contributors. All rights reserved.
from .face_visualizer import (FaceVisualizer, has_display, image_grid,  # noqa: F401
                              stack_rows)
from .plots import (EMBEDDING_METHODS, embed_2d, plot_embedding,  # noqa: F401
                    plot_scalars, tsne_embedding)

__all__ = ['FaceVisualizer', 'has_display', 'image_grid', 'stack_rows', 'plot_scalars',
           'plot_embedding', 'tsne_embedding', 'embed_2d', 'EMBEDDING_METHODS']
