# Copyright (c) mmfer contributors. All rights reserved.
"""Safe checkpoint loading and atomic checkpoint saving under torch >= 2.6.

torch >= 2.6 loads with ``weights_only=True``: only tensors, containers and allow-listed
globals may be unpickled. An mmengine checkpoint (weights + optimizer + schedulers + the
message hub used by ``resume=True``) pickles exactly these extra globals:

- ``mmengine.logging.history_buffer.HistoryBuffer`` (the logged scalars),
- ``builtins.getattr``, used by HistoryBuffer to pickle its statistics methods as
  ``getattr(HistoryBuffer, 'mean')`` etc. A general ``getattr`` would hand the unpickler any
  attribute of any object, so mmfer allow-lists a restricted stand-in under that name:
  :func:`_history_buffer_getattr` only returns HistoryBuffer's registered statistics methods;
- numpy arrays and scalars in the message hub: ``numpy.ndarray``, ``numpy.dtype``,
  ``numpy._core.multiarray._reconstruct`` and ``numpy._core.multiarray.scalar`` (and their
  numpy 1.x ``numpy.core`` spellings, plus numpy's dtype classes).

:func:`register_checkpoint_safe_globals` is called once when ``mmfer`` is imported. Files
that pickle anything else are refused by :func:`load_checkpoint_file` with
:class:`UnsafeCheckpointError`, which names the file and the offending globals. mmfer never
falls back to ``weights_only=False``; a user who wrote a checkpoint *themselves* and trusts it
can allow a global explicitly with ``torch.serialization.add_safe_globals``.

mmengine's local-file checkpoint loader (``CheckpointLoader`` scheme ``''``, used by
``load_from``, ``resume`` and ``load_checkpoint``) is replaced by :func:`load_checkpoint_file`,
and its local storage backend by :class:`AtomicLocalBackend`, so that a run killed while
saving never leaves a truncated checkpoint behind.
"""
import os
import os.path as osp
import pickle
import zipfile
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from .atomic_io import atomic_open


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint pickles globals that mmfer does not allow-list."""


class InvalidCheckpointError(ValueError):
    """A file is not a checkpoint, or is an empty, truncated or corrupt one."""


#: HistoryBuffer's built-in statistics (registered lazily by mmengine, so listed here).
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'mean', 'current')


def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    """Restricted ``getattr`` for unpickling: only HistoryBuffer's statistics methods."""
    allowed = set(_HISTORY_BUFFER_STATISTICS) | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise UnsafeCheckpointError(
        f'refusing getattr({obj!r}, {name!r}) while unpickling: mmfer only allows '
        f'getattr(HistoryBuffer, <statistics method>) in checkpoints')


def _numpy_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """numpy globals that appear in pickled arrays/scalars, under both numpy 1 and 2 names."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    entries: List[Union[Callable, Tuple[Callable, str]]] = [np.ndarray, np.dtype]
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        entries.append((multiarray._reconstruct, f'{module}._reconstruct'))
        entries.append((multiarray.scalar, f'{module}.scalar'))
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        entries.extend(getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType'))
    return entries


def checkpoint_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """Exactly the globals mmengine checkpoints need, as ``add_safe_globals`` entries."""
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')] + _numpy_globals()


_registered = False


def register_checkpoint_safe_globals() -> None:
    """Allow-list :func:`checkpoint_safe_globals` and install mmfer's loader/saver (once)."""
    global _registered
    if _registered:
        return
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    CheckpointLoader.register_scheme(prefixes='', loader=_load_from_local, force=True)
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    _registered = True


#: How every torch checkpoint starts: a zip archive (torch >= 1.6) or a pickle (protocol >= 2,
#: the legacy format and raw pickles).
_ZIP_MAGIC = b'PK\x03\x04'
_PICKLE_MAGIC = b'\x80'


def check_checkpoint_file(filename: str) -> str:
    """Check, without unpickling anything, that ``filename`` can be a complete checkpoint.

    Cheap (reads the header and, for the zip format, the archive's directory), so tools call
    it on their checkpoint arguments before building datasets or models.

    Args:
        filename (str): Path of the checkpoint (``~`` is expanded).

    Returns:
        str: The expanded path.

    Raises:
        FileNotFoundError: The file does not exist.
        InvalidCheckpointError: It is a directory, unreadable, empty, not a torch file
            (no zip / pickle header), a zip archive without torch's ``data.pkl`` (e.g. an
            ``.npz``), or a zip archive whose directory is missing (truncated). The message
            names the file.
    """
    filename = osp.expanduser(str(filename))
    if osp.isdir(filename):
        raise InvalidCheckpointError(f'checkpoint {filename} is a directory, not a file')
    if not osp.exists(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    try:
        size = osp.getsize(filename)
        with open(filename, 'rb') as f:
            head = f.read(len(_ZIP_MAGIC))
    except OSError as e:
        raise InvalidCheckpointError(f'checkpoint {filename} cannot be read: {e}') from e
    if size == 0:
        raise InvalidCheckpointError(
            f'checkpoint {filename} is an empty file (0 bytes): it was not written completely '
            '(a run killed while saving without mmfer\'s atomic writer, a failed copy or '
            'download)')
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(filename) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise InvalidCheckpointError(
                f'checkpoint {filename} is truncated or corrupt ({size} bytes; its zip '
                f'directory cannot be read: {e}); copy or save it again') from e
        if not any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
            raise InvalidCheckpointError(
                f'{filename} is not a checkpoint (a zip archive without torch\'s data.pkl; '
                f'it holds {names[:3]}{" ..." if len(names) > 3 else ""})')
    elif not head.startswith(_PICKLE_MAGIC):
        raise InvalidCheckpointError(
            f'{filename} is not a checkpoint (no torch zip/pickle header; it starts with '
            f'{head!r}): pass the .pth file that torch.save / mmengine wrote')
    return filename


def _unpickler_error(error: Exception) -> str:
    """The informative part of torch's weights-only error, without its hint to unpickle
    unsafely (``weights_only=False``)."""
    text = str(error)
    marker = 'WeightsUnpickler error:'
    if marker in text:
        detail = text.split(marker, 1)[1].strip().split('\n\n')[0].strip()
        return f"torch's weights-only unpickler: {detail}"
    return text.splitlines()[0] if text else type(error).__name__


def load_checkpoint_file(filename: str, map_location: Optional[Any] = None) -> Any:
    """Load a local checkpoint with ``weights_only=True``.

    Args:
        filename (str): Path of the checkpoint.
        map_location: As in :func:`torch.load`.

    Raises:
        FileNotFoundError: The file does not exist.
        InvalidCheckpointError: The file is empty, truncated, corrupt or not a checkpoint
            (:func:`check_checkpoint_file`); the message names the file.
        UnsafeCheckpointError: The file pickles a global that is not allow-listed; the
            message names the file and the globals.
    """
    filename = check_checkpoint_file(filename)
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
        except Exception:  # legacy (non-zip) file or unreadable archive
            unsafe = []
        if unsafe:
            what = f'pickles globals that are not allow-listed: {", ".join(unsafe)}'
        else:
            what = f'cannot be unpickled safely ({_unpickler_error(e)})'
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint {filename}: it {what}. mmfer loads checkpoints with '
            'weights_only=True and never executes pickled code. If you wrote this file '
            'yourself and trust it, allow-list the class with '
            'torch.serialization.add_safe_globals([...]) before loading.') from e
    except (EOFError, RuntimeError, OSError, KeyError, ValueError) as e:
        # what torch raises on a cut-off legacy file (EOFError), a zip archive with missing
        # or damaged members (RuntimeError from its stream reader), ...
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InvalidCheckpointError(
            f'checkpoint {filename} is truncated or corrupt ({osp.getsize(filename)} bytes; '
            f'torch.load: {type(e).__name__}: {detail[:200]}); copy or save it again') from e


def _load_from_local(filename: str, map_location: Optional[Any]) -> Any:
    return load_checkpoint_file(filename, map_location)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local backend whose ``put`` never leaves a partially written file.

    Bytes are written with :func:`mmfer.utils.atomic_io.atomic_open`: a temporary file in the
    destination folder, flushed and fsync-ed, given the mode ``0o666 & ~umask`` (as
    ``torch.save`` would), then renamed over the destination.
    """

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        with atomic_open(filepath) as f:
            f.write(obj)


def find_latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint a ``--resume`` without a path should continue from.

    mmengine records the latest checkpoint in ``work_dir/last_checkpoint``, but writes that
    file in place: a run killed at that moment leaves it empty. This reads it when it names an
    existing file and otherwise falls back to the highest-numbered ``iter_N.pth`` /
    ``epoch_N.pth`` in ``work_dir`` (complete by construction: :class:`AtomicLocalBackend`
    renames finished files into place).

    Args:
        work_dir (str): The run's work directory.

    Returns:
        str | None: Path of the checkpoint, or None when the folder holds none.
    """
    record = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(record):
        with open(record) as f:
            named = f.read().strip()
        if named and osp.isfile(named):
            return named
    if not osp.isdir(work_dir):
        return None
    best: Optional[Tuple[int, str]] = None
    for name in os.listdir(work_dir):
        stem, ext = osp.splitext(name)
        kind, _, number = stem.partition('_')
        if ext == '.pth' and kind in ('iter', 'epoch') and number.isdigit():
            if best is None or int(number) > best[0]:
                best = (int(number), osp.join(work_dir, name))
    return None if best is None else best[1]


def extract_state_dict(checkpoint: Any, filename: str = '<checkpoint>') -> Dict[str, torch.Tensor]:
    """The weights of a loaded checkpoint, as a flat ``name -> tensor`` dict.

    Takes the ``state_dict`` / ``model`` / ``module`` entry when there is one (mmengine,
    classic and DDP-saved files) or the dict itself (a bare state dict), strips DDP's
    ``module.`` prefix and keeps the tensors only.

    Raises:
        TypeError: ``checkpoint`` is not a dict.
        ValueError: it holds no tensors.
    """
    if not isinstance(checkpoint, dict):
        raise TypeError(f'{filename} holds a {type(checkpoint).__name__}, not a dict of weights')
    for key in ('state_dict', 'model', 'module'):
        if isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    state = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                        for k, v in checkpoint.items() if isinstance(v, torch.Tensor))
    if not state:
        raise ValueError(f'{filename} contains no tensors')
    return state
