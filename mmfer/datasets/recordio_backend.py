# Copyright (c) mmfer contributors. All rights reserved.
"""An mmengine file backend for images stored in RecordIO files (InsightFace ``.rec``).

A record is addressed as ``'<path of the .rec>#<record key>'`` (its ``.idx`` next to it), with
or without the ``recordio://`` prefix, e.g. ``'recordio://data/faces_emore/train.rec#17'``.
The prefix lets mmengine pick this backend from the path alone, so mmfer's image loader reads
records like files with no extra argument::

    LoadFaceImage()(dict(img_path='recordio://data/faces_emore/train.rec#17'))

and so does every ``mmengine.fileio.get``. ``get`` returns the encoded image (the payload after
the ``IRHeader``); a path without ``#<key>`` is an ordinary file, read as mmengine's local
backend does (so ``backend_args=dict(backend='recordio')`` also reads plain files).
:class:`~mmfer.datasets.MS1MRecordIO` lists its images with this prefix; its landmark keys stay
``'<rec file name>#<key>'``.

One :class:`~mmfer.datasets.recordio.RecordIOReader` is kept per ``.rec`` and process (its
index is two numpy arrays, its file handle is reopened after a fork).
"""
import os.path as osp
from pathlib import Path
from typing import Dict, Tuple, Union

from mmengine.fileio import register_backend
from mmengine.fileio.backends import BaseStorageBackend

from .recordio import RecordIOError, RecordIOReader, unpack

PREFIX = 'recordio://'


def split_record_path(filepath: Union[str, Path]) -> Tuple[str, int]:
    """``'[recordio://]<rec>#<key>'`` -> (``<rec>``, ``key``).

    Raises:
        ValueError: no ``#<integer key>`` at the end (names the path).
    """
    path = str(filepath)
    if path.startswith(PREFIX):
        path = path[len(PREFIX):]
    rec, sep, key = path.rpartition('#')
    if not sep or not rec:
        raise ValueError(f'{filepath}: not a RecordIO record path "<file.rec>#<key>"')
    try:
        return rec, int(key)
    except ValueError:
        raise ValueError(f'{filepath}: the record key after "#" must be an integer, '
                         f'got {key!r}') from None


def record_path(rec_path: str, key: int) -> str:
    """The path :class:`RecordIOBackend` reads for record ``key`` of ``rec_path``."""
    return f'{PREFIX}{rec_path}#{int(key)}'


@register_backend('recordio', prefixes='recordio', force=True)
class RecordIOBackend(BaseStorageBackend):
    """Read images from RecordIO files: ``get('recordio://<rec>#<key>')`` -> encoded bytes.

    Errors name the path: a missing ``.rec``/``.idx`` or key raises ``FileNotFoundError``; a
    malformed file raises :class:`~mmfer.datasets.recordio.RecordIOError` (a ``ValueError``)
    naming the file and byte offset.
    """

    def __init__(self) -> None:
        self._readers: Dict[str, RecordIOReader] = {}

    def _reader(self, rec: str) -> RecordIOReader:
        reader = self._readers.get(rec)
        if reader is None:
            reader = self._readers[rec] = RecordIOReader(rec)
        return reader

    def get(self, filepath: Union[str, Path]) -> bytes:
        """The encoded image of a record (the IRHeader stripped), or a plain file's bytes.

        Args:
            filepath (str | Path): ``'[recordio://]<rec>#<key>'`` or an ordinary file path.

        Returns:
            bytes: The payload.
        """
        path = str(filepath)
        if '#' not in path and not path.startswith(PREFIX):
            with open(path, 'rb') as f:
                return f.read()
        rec, key = split_record_path(path)
        reader = self._reader(osp.abspath(rec))
        if key not in reader.index:
            raise FileNotFoundError(f'{filepath}: no record with key {key} in '
                                    f'{reader.idx_path}')
        try:
            _, img = unpack(reader.read_idx(key))
        except RecordIOError as e:
            if str(e).startswith(reader.rec_path):
                raise
            raise RecordIOError(f'{filepath}: {e}') from e
        return img

    def get_text(self, filepath: Union[str, Path], encoding: str = 'utf-8') -> str:
        """The text of a plain file (RecordIO records are binary)."""
        path = str(filepath)
        if '#' in path or path.startswith(PREFIX):
            raise NotImplementedError(f'{filepath}: RecordIO records are binary; use get()')
        with open(path, encoding=encoding) as f:
            return f.read()
