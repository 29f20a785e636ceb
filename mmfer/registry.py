# Copyright (c) mmfer contributors. All rights reserved.
"""mmfer's registries: children of mmengine's root registries.

Every registry here has ``scope='mmfer'`` (set by :class:`MMFERRegistry`), mmengine's root
registry as parent and the mmfer sub-packages as ``locations`` so that components are imported
lazily the first time a registry is searched.

Name lookup from a ``default_scope='mmfer'`` config, for ``type='X'``:

1. mmfer's own registry, then its parents (mmengine's root registry: mmengine/mmcv components
   such as ``LoadImageFromFile``, ``IterBasedRunner`` hooks, optimizers ...);
2. then the *fallback scopes* in order, ``mmpretrain`` then ``mmpose``: so ``type='ResNet'``
   resolves to mmpretrain's ResNet and ``type='HeatmapHead'`` to mmpose's head.

An explicit scope always wins: ``type='mmpose.HRNet'`` is mmpose's HRNet (``type='HRNet'``
alone is mmpretrain's, found first), ``type='mmpretrain.ResNet'`` is mmpretrain's ResNet.
The fallback also makes nested builds work: when mmpose's ``HeatmapHead`` builds its
``KeypointMSELoss`` under the ``mmfer`` default scope, mmengine switches to mmfer's registry and
the lookup falls through to mmpose.
"""
from typing import Optional, Sequence, Type

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import \
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

#: Scopes searched, in order, for a name that mmfer and mmengine do not know.
FALLBACK_SCOPES: Sequence[str] = ('mmpretrain', 'mmpose')


class MMFERRegistry(Registry):
    """A :class:`mmengine.Registry` whose unscoped lookups fall back to mmpretrain, mmpose.

    Args:
        name (str): Registry name.
        parent (Registry, optional): mmengine's root registry of the same kind (None for
            kinds mmengine does not have, e.g. face detectors).
        locations (list[str]): Modules imported lazily to fill the registry.
        fallback_scopes (Sequence[str]): Scopes tried, in order, for an unscoped name that
            is in neither this registry nor its parents.
    """

    def __init__(self, name: str, parent: Optional[Registry], locations: Sequence[str] = (),
                 fallback_scopes: Sequence[str] = FALLBACK_SCOPES) -> None:
        super().__init__(name, parent=parent, scope='mmfer', locations=list(locations))
        self.fallback_scopes = tuple(fallback_scopes)

    def get(self, key: str) -> Optional[Type]:
        obj = super().get(key)
        if obj is not None or not isinstance(key, str):
            return obj
        scope, real_key = self.split_scope_key(key)
        if scope is not None:
            return None
        for fallback in self.fallback_scopes:
            obj = super().get(f'{fallback}.{real_key}')
            if obj is not None:
                return obj
        return None


def _child(name: str, parent: Registry, locations: Sequence[str]) -> MMFERRegistry:
    return MMFERRegistry(name, parent=parent, locations=locations)


RUNNERS = _child('runner', MMENGINE_RUNNERS, ['mmfer.engine'])
RUNNER_CONSTRUCTORS = _child('runner constructor', MMENGINE_RUNNER_CONSTRUCTORS,
                             ['mmfer.engine'])
LOOPS = _child('loop', MMENGINE_LOOPS, ['mmfer.engine'])
HOOKS = _child('hook', MMENGINE_HOOKS, ['mmfer.engine'])
LOG_PROCESSORS = _child('log processor', MMENGINE_LOG_PROCESSORS, ['mmfer.engine'])
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, ['mmfer.engine'])
OPTIM_WRAPPERS = _child('optimizer_wrapper', MMENGINE_OPTIM_WRAPPERS, ['mmfer.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, ['mmfer.engine'])
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS,
                          ['mmfer.engine'])
DATASETS = _child('dataset', MMENGINE_DATASETS, ['mmfer.datasets'])
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, ['mmfer.datasets'])
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, ['mmfer.datasets'])
MODELS = _child('model', MMENGINE_MODELS, ['mmfer.models'])
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS, ['mmfer.models'])
WEIGHT_INITIALIZERS = _child('weight initializer', MMENGINE_WEIGHT_INITIALIZERS,
                             ['mmfer.models'])
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS, ['mmfer.models'])
METRICS = _child('metric', MMENGINE_METRICS, ['mmfer.evaluation'])
EVALUATORS = _child('evaluator', MMENGINE_EVALUATOR, ['mmfer.evaluation'])
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS, ['mmfer.visualization'])
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS, ['mmfer.visualization'])
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, ['mmfer.datasets'])

#: Face detectors (``mmfer.apis.face_detection``): plain callables, not ``nn.Module``s built by
#: a runner (dlib's are C++ objects), so they get a registry of their own and no mmengine
#: parent; ``type='dlib'`` / ``type='mmfer.DlibFaceDetector'`` never collides with a model.
FACE_DETECTORS = MMFERRegistry('face detector', parent=None,
                               locations=['mmfer.apis.face_detection'], fallback_scopes=())
