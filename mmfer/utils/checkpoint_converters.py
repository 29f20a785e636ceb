# Copyright (c) mmfer contributors. All rights reserved.
"""Convert the authors' released checkpoints to mmfer's key names, without running their pickles.

Reading (:func:`load_foreign_checkpoint`), in this order:

1. :func:`~mmfer.utils.load_checkpoint_file` (``weights_only=True``): tensors, containers and
   mmfer's allow-listed globals; enough for MMClassification 0.x files (ABAW5).
2. If that refuses the file, :class:`RestrictedUnpickler` reads the tensors of a torch zip
   checkpoint itself: it reconstructs only tensors / storages / ``OrderedDict`` / plain
   builtin containers and the allow-listed globals, and replaces **every other global** by an
   inert :class:`UnpickledPlaceholder` (its constructor, ``__reduce__`` callable or
   ``__setstate__`` is never imported or called). SSL-FER's checkpoints pickle the
   ``CosineAnnealingLR`` scheduler *object* (and through it the ``Adam`` optimizer): both
   become placeholders, the weights are read exactly.
3. ``trust_pickle=True`` (``--trust-pickle``), only for a file the user vouches for that the
   restricted reader cannot read (e.g. torch's pre-1.6 non-zip format): a full ``torch.load``
   that may execute code, announced by a loud warning.

Key mapping:

- :func:`convert_abaw5`: the ABAW5 release (MMClassification 0.x ``ImageClassifier``):
  ``backbone.*`` and ``head.fc.*`` keep their names; the ``SpatialFlatten`` neck's
  ``neck.conv1.*`` / ``neck.conv2.*`` (two ``ConvModule`` attributes) become mmfer's
  ``neck.convs.0.*`` / ``neck.convs.1.*``.
- :func:`convert_sslfer`: SSL-FER's ``ResNetSimCLR`` (a torchvision ResNet under ``backbone.``
  whose ``fc`` is the Linear-ReLU-Linear projector): the ResNet keys are already mmpretrain's
  ``ResNet`` names and keep ``backbone.``; the projector (``backbone.fc.*``, no BatchNorm,
  unlike mmfer's ``NonLinearNeck``) is dropped and reported: downstream models use the
  encoder only.
"""
import _compat_pickle
import builtins
import io
import os.path as osp
import pickle
import warnings
import zipfile
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import torch
from mmengine.logging import print_log

from .checkpoint import (UnsafeCheckpointError, checkpoint_safe_globals, extract_state_dict,
                         load_checkpoint_file)

_STORAGE_DTYPES = {
    'FloatStorage': torch.float32, 'DoubleStorage': torch.float64,
    'HalfStorage': torch.float16, 'BFloat16Storage': torch.bfloat16,
    'LongStorage': torch.int64, 'IntStorage': torch.int32, 'ShortStorage': torch.int16,
    'CharStorage': torch.int8, 'ByteStorage': torch.uint8, 'BoolStorage': torch.bool,
    'ComplexFloatStorage': torch.complex64, 'ComplexDoubleStorage': torch.complex128,
}
_BUILTINS = ('dict', 'list', 'tuple', 'set', 'frozenset', 'int', 'float', 'bool', 'complex',
             'str', 'bytes', 'bytearray', 'slice')


class UnpickledPlaceholder:
    """Stands in for an object whose global the restricted reader did not reconstruct.

    Records what the pickle would have passed (``args``, ``state``, ``items``, ``list``) and
    does nothing else. ``global_name`` names the replaced global.
    """

    global_name = '?'

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.args = args
        return obj

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __call__(self, *args, **kwargs) -> 'UnpickledPlaceholder':
        return type(self)(*args)

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.__dict__.setdefault('items', {})[key] = value

    def append(self, value: Any) -> None:
        self.__dict__.setdefault('list', []).append(value)

    def extend(self, values) -> None:
        for v in values:
            self.append(v)

    def __repr__(self) -> str:
        return f'<not unpickled: {self.global_name}>'


class _Storage:
    """A storage read from the archive: its bytes as a flat tensor of its dtype."""

    def __init__(self, flat: torch.Tensor) -> None:
        self.flat = flat


class _StorageType:

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


def _rebuild_tensor(storage: _Storage, offset: int, size, stride, requires_grad=False,
                    backward_hooks=None, metadata=None) -> torch.Tensor:
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError('a tensor without a storage record in the archive')
    return storage.flat.as_strided(tuple(size), tuple(stride), int(offset)).clone()


def _rebuild_parameter(data: torch.Tensor, requires_grad=False, backward_hooks=None,
                       state=None) -> torch.Tensor:
    return data


def _global_name(entry) -> Tuple[str, Any]:
    if isinstance(entry, tuple):
        return entry[1], entry[0]
    return f'{entry.__module__}.{entry.__qualname__}', entry


def _safe_globals() -> Dict[str, Any]:
    safe: Dict[str, Any] = {
        'collections.OrderedDict': OrderedDict,
        'torch._utils._rebuild_tensor_v2': _rebuild_tensor,
        'torch._utils._rebuild_parameter': _rebuild_parameter,
        'torch._utils._rebuild_parameter_with_state': _rebuild_parameter,
        'torch.Size': torch.Size,
        'torch.device': torch.device,
    }
    safe.update({f'builtins.{n}': getattr(builtins, n) for n in _BUILTINS})
    safe.update(dict(_global_name(e) for e in checkpoint_safe_globals()))
    return safe


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles ``data.pkl`` of a torch zip checkpoint reconstructing tensors only.

    Allowed globals: tensor/parameter rebuild functions (re-implemented here on the archive's
    raw bytes), storage types, ``OrderedDict``, builtin containers and scalars, torch dtypes,
    ``torch.Size``/``torch.device`` and :func:`~mmfer.utils.checkpoint_safe_globals`. Any
    other global becomes an :class:`UnpickledPlaceholder` subclass named after it and is
    recorded in :attr:`replaced`.

    Args:
        file: The ``data.pkl`` stream.
        archive (zipfile.ZipFile): The checkpoint archive.
        prefix (str): The archive's top folder (``<prefix>/data.pkl``).
    """

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(file)
        self.archive = archive
        self.prefix = prefix
        self.replaced: Set[str] = set()
        self._safe = _safe_globals()
        self._storages: Dict[str, _Storage] = {}
        self._placeholders: Dict[str, type] = {}

    def find_class(self, module: str, name: str) -> Any:
        # torch.save writes pickle protocol 2, which spells builtins as Python 2's __builtin__
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f'{module}.{name}'
        if full in self._safe:
            return self._safe[full]
        if module == 'torch' and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == 'torch' and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        self.replaced.add(full)
        if full not in self._placeholders:
            self._placeholders[full] = type(f'Unpickled[{full}]', (UnpickledPlaceholder, ),
                                            {'global_name': full})
        return self._placeholders[full]

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == 'storage'
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f'unsupported persistent id {pid!r:.80}')
        key = str(pid[2])
        if key not in self._storages:
            raw = self.archive.read(f'{self.prefix}/data/{key}')
            self._storages[key] = _Storage(torch.frombuffer(bytearray(raw), dtype=pid[1].dtype)
                                           if raw else torch.empty(0, dtype=pid[1].dtype))
        return self._storages[key]


def read_checkpoint_restricted(filename: str) -> Tuple[Any, List[str]]:
    """Read a torch zip checkpoint with :class:`RestrictedUnpickler`.

    Returns:
        tuple: the unpickled object (tensors real, unknown objects placeholders) and the
        sorted names of the replaced globals.

    Raises:
        UnsafeCheckpointError: not a torch zip checkpoint (e.g. torch < 1.6's legacy format),
            or big-endian data.
    """
    if not zipfile.is_zipfile(filename):
        raise UnsafeCheckpointError(
            f'{filename} is not a torch zip checkpoint (torch >= 1.6 format): the restricted '
            'reader cannot read it. If you trust the file, pass --trust-pickle '
            '(trust_pickle=True).')
    with zipfile.ZipFile(filename) as archive:
        pkls = [n for n in archive.namelist() if n.endswith('/data.pkl') and n.count('/') == 1]
        if len(pkls) != 1:
            raise UnsafeCheckpointError(f'{filename}: no single <archive>/data.pkl inside')
        prefix = pkls[0][:-len('/data.pkl')]
        order = f'{prefix}/byteorder'
        if order in archive.namelist() and archive.read(order).strip() != b'little':
            raise UnsafeCheckpointError(f'{filename}: big-endian tensors are not supported')
        unpickler = RestrictedUnpickler(io.BytesIO(archive.read(pkls[0])), archive, prefix)
        obj = unpickler.load()
    return obj, sorted(unpickler.replaced)


def load_foreign_checkpoint(filename: str, trust_pickle: bool = False
                            ) -> Tuple[Any, Dict[str, Any]]:
    """Load a checkpoint released by others (see the module docstring for the three routes).

    Returns:
        tuple: the loaded object and ``info`` with ``reader`` (``'weights_only'``,
        ``'restricted'`` or ``'trusted_pickle'``) and ``replaced_globals``.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    try:
        return load_checkpoint_file(filename, map_location='cpu'), dict(
            reader='weights_only', replaced_globals=[])
    except UnsafeCheckpointError as e:
        refused = e
    try:
        obj, replaced = read_checkpoint_restricted(filename)
        print_log(f'{filename}: weights_only loading refused it ({str(refused).split(":")[1]}'
                  f'...); read its tensors with the restricted unpickler, replacing '
                  f'{len(replaced)} globals by inert placeholders: {", ".join(replaced)}',
                  logger='current')
        return obj, dict(reader='restricted', replaced_globals=replaced)
    except UnsafeCheckpointError:
        if not trust_pickle:
            raise
    msg = (f'!!! --trust-pickle: fully unpickling {filename}. This can EXECUTE ARBITRARY CODE '
           'stored in the file. Do this only for a file from a source you trust.')
    warnings.warn(msg, stacklevel=2)
    print_log(msg, logger='current', level=30)
    return (torch.load(filename, map_location='cpu', weights_only=False),  # nosec: opt-in
            dict(reader='trusted_pickle', replaced_globals=[]))


# --------------------------------------------------------------------- key mappings
def _rename(state: Dict[str, torch.Tensor], rules: List[Tuple[str, str]],
            drop: Tuple[str, ...] = ()) -> Tuple['OrderedDict[str, torch.Tensor]', Dict]:
    out, dropped, renamed = OrderedDict(), [], 0
    for key, value in state.items():
        if key.startswith(drop):
            dropped.append(key)
            continue
        new = key
        for old_prefix, new_prefix in rules:
            if key.startswith(old_prefix):
                new = new_prefix + key[len(old_prefix):]
                renamed += new != key
                break
        out[new] = value
    return out, dict(renamed=renamed, dropped=dropped)


def convert_abaw5(state: Dict[str, torch.Tensor], source: str = '<checkpoint>'
                  ) -> Tuple['OrderedDict[str, torch.Tensor]', Dict]:
    """ABAW5 (MMClassification 0.x) keys -> mmfer (``SpatialFlatten`` neck names).

    Raises:
        ValueError: no ``backbone.`` key, or keys outside backbone/neck/head.
    """
    if not any(k.startswith('backbone.') for k in state):
        raise ValueError(f'{source}: no backbone.* key; not an MMClassification '
                         f'ImageClassifier checkpoint (prefixes: {_prefixes(state)})')
    other = [k for k in state if not k.startswith(('backbone.', 'neck.', 'head.'))]
    if other:
        raise ValueError(f'{source}: unexpected keys {other[:5]} outside backbone/neck/head')
    out, report = _rename(state, [('neck.conv1.', 'neck.convs.0.'),
                                  ('neck.conv2.', 'neck.convs.1.')])
    return out, report


def convert_sslfer(state: Dict[str, torch.Tensor], source: str = '<checkpoint>'
                   ) -> Tuple['OrderedDict[str, torch.Tensor]', Dict]:
    """SSL-FER ``ResNetSimCLR`` keys -> mmfer ``backbone.*`` (projector dropped).

    Also accepts a bare torchvision ResNet state dict (``conv1.weight`` ...).

    Raises:
        ValueError: no ResNet stem (``backbone.conv1.weight`` / ``conv1.weight``) found.
    """
    if 'backbone.conv1.weight' not in state:
        if 'conv1.weight' not in state:
            raise ValueError(f'{source}: no backbone.conv1.weight / conv1.weight; not an '
                             f'SSL-FER ResNetSimCLR checkpoint (prefixes: {_prefixes(state)})')
        state = OrderedDict(('backbone.' + k, v) for k, v in state.items())
    other = [k for k in state if not k.startswith('backbone.')]
    if other:
        raise ValueError(f'{source}: unexpected keys {other[:5]} outside backbone.')
    return _rename(state, [], drop=('backbone.fc.', ))


CONVERTERS: Dict[str, Callable] = dict(abaw5=convert_abaw5, sslfer=convert_sslfer)


def _prefixes(state: Dict) -> List[str]:
    return sorted({k.split('.', 1)[0] for k in state})


def convert_checkpoint(src: str, dst: str, kind: str, trust_pickle: bool = False,
                       config: Optional[str] = None) -> Dict[str, Any]:
    """Read ``src`` safely, map its keys (``kind``: ``'abaw5'`` or ``'sslfer'``) and save an
    mmengine-style ``{'state_dict': ..., 'meta': ...}`` to ``dst`` (tensors and plain
    metadata only, loadable with ``weights_only=True``).

    Args:
        config (str, optional): An mmfer config whose model must load the result strictly
            (a check; raises when keys or shapes differ).

    Returns:
        dict: report with ``reader``, ``replaced_globals``, ``num_tensors``, ``renamed``,
        ``dropped`` and ``meta``.
    """
    if kind not in CONVERTERS:
        raise KeyError(f'unknown checkpoint kind {kind!r}; known: {sorted(CONVERTERS)}')
    obj, info = load_foreign_checkpoint(src, trust_pickle=trust_pickle)
    state, report = CONVERTERS[kind](extract_state_dict(obj, src), src)
    meta = dict(converted_from=kind, source=osp.basename(src), reader=info['reader'])
    if isinstance(obj, dict):
        for key in ('epoch', 'iter', 'arch'):
            if isinstance(obj.get(key), (int, float, str)):
                meta[key] = obj[key]
        src_meta = obj.get('meta')
        if isinstance(src_meta, dict):
            for key in ('epoch', 'iter', 'mmcls_version', 'CLASSES'):
                value = src_meta.get(key)
                if isinstance(value, (int, float, str)) or (
                        isinstance(value, (list, tuple))
                        and all(isinstance(v, str) for v in value)):
                    meta[key] = list(value) if isinstance(value, tuple) else value
    if config is not None:
        report['missing_in_checkpoint'] = check_against_config(state, config, src)
    torch.save(dict(state_dict=state, meta=meta), dst)
    return dict(info, num_tensors=len(state), meta=meta, **report)


def check_against_config(state: Dict[str, torch.Tensor], config: str,
                         source: str = '<checkpoint>') -> List[str]:
    """Every converted tensor must exist, with its shape, in ``config``'s model.

    Returns:
        list[str]: the model's weights the checkpoint does not provide (e.g. a downstream
        head for an encoder-only release).

    Raises:
        ValueError: keys the model does not have, or shape mismatches (first ones named).
    """
    from mmfer.apis.deployment import init_model
    target = init_model(config).state_dict()
    unexpected = [k for k in state if k not in target]
    mismatch = [f'{k}: {tuple(state[k].shape)} vs {tuple(target[k].shape)}' for k in state
                if k in target and state[k].shape != target[k].shape]
    if unexpected or mismatch:
        raise ValueError(f'{source} does not fit the model of {config}: '
                         f'{len(unexpected)} unknown keys {unexpected[:4]}, '
                         f'{len(mismatch)} shape mismatches {mismatch[:3]}')
    return sorted(set(target) - set(state))
