# Copyright (c) mmfer contributors. All rights reserved.
"""InsightFace / MXNet RecordIO (``train.rec`` + ``train.idx``) in pure Python, no mxnet.

**Record layout** (dmlc-core ``recordio``): every record starts 4-byte aligned with

- ``uint32 magic = 0xced7230a`` (little endian),
- ``uint32 lrecord``: upper 3 bits ``cflag``, lower 29 bits the payload length,
- the payload, zero-padded to a multiple of 4 bytes.

``cflag`` 0 is a whole record. A payload that contains the magic number at a 4-byte aligned
offset is split there by the writer into parts with ``cflag`` 1 (first), 2 (middle), 3 (last),
the magic itself being dropped; the reader joins the parts with the magic in between.

**Index** ``train.idx``: text lines ``key<TAB>byte offset`` of each record.

**IRHeader** (``mxnet.recordio``): the payload of an image record starts with
``struct 'IfQQ'`` = (flag uint32, label float32, id uint64, id2 uint64), 24 bytes. With
``flag > 0`` the label is instead ``flag`` float32 values stored right after the header. The
rest is the encoded image (JPEG/PNG).

**InsightFace** (MS1M-ArcFace etc.): record 0 is a header with ``flag > 0`` and
``label = (first identity record, ...)``: image records are keys ``1 .. label[0]-1``, the
records after them describe identities. Without such a header every key is an image.

This module is the codec only (reader, writer, (un)packing). Images are read in a data
pipeline through the ``recordio`` file backend (:mod:`mmfer.datasets.recordio_backend`), and
:class:`~mmfer.datasets.MS1MRecordIO` lists the images of an InsightFace ``.rec``.
"""
import os
import os.path as osp
import struct
from collections import namedtuple
from typing import Iterator, List, Optional, Tuple

import cv2
import numpy as np

MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack('<I', MAGIC)
_LEN_MASK = (1 << 29) - 1

IRHeader = namedtuple('IRHeader', ['flag', 'label', 'id', 'id2'])
_IR_FORMAT = 'IfQQ'
_IR_SIZE = struct.calcsize(_IR_FORMAT)


class RecordIOError(ValueError):
    """A malformed RecordIO file; the message names the file and byte offset."""


def pack(header: IRHeader, s: bytes) -> bytes:
    """``mxnet.recordio.pack``: IRHeader (+ float32 label vector when it is one) + payload."""
    label = header.label
    if isinstance(label, (int, float, np.integer, np.floating)):
        return struct.pack(_IR_FORMAT, 0, float(label), header.id, header.id2) + s
    label = np.asarray(label, dtype=np.float32).reshape(-1)
    return (struct.pack(_IR_FORMAT, label.size, 0.0, header.id, header.id2) +
            label.tobytes() + s)


def unpack(s: bytes) -> Tuple[IRHeader, bytes]:
    """``mxnet.recordio.unpack``: (IRHeader, payload); ``label`` is an array when flag > 0."""
    if len(s) < _IR_SIZE:
        raise RecordIOError(f'record of {len(s)} bytes is shorter than an IRHeader '
                            f'({_IR_SIZE} bytes)')
    flag, label, id1, id2 = struct.unpack(_IR_FORMAT, s[:_IR_SIZE])
    s = s[_IR_SIZE:]
    if flag > 0:
        if len(s) < 4 * flag:
            raise RecordIOError(f'IRHeader announces {flag} labels but the record has only '
                                f'{len(s)} bytes after the header')
        label = np.frombuffer(s[:4 * flag], dtype=np.float32).copy()
        s = s[4 * flag:]
    return IRHeader(flag, label, id1, id2), s


def pack_img(header: IRHeader, img: np.ndarray, quality: int = 95, img_fmt: str = '.jpg'
             ) -> bytes:
    """``mxnet.recordio.pack_img`` with OpenCV: encode a BGR image and pack it."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if img_fmt.lower() in ('.jpg', '.jpeg') \
        else []
    ok, buf = cv2.imencode(img_fmt, img, params)
    if not ok:
        raise ValueError(f'cannot encode image of shape {img.shape} as {img_fmt}')
    return pack(header, buf.tobytes())


class RecordIOWriter:
    """Write an indexed RecordIO pair (``.rec`` + ``.idx``), dmlc-core's layout.

    Args:
        rec_path (str): Output ``.rec``.
        idx_path (str): Output ``.idx``.
    """

    def __init__(self, rec_path: str, idx_path: str) -> None:
        self.rec_path, self.idx_path = rec_path, idx_path
        self._rec = open(rec_path, 'wb')
        self._idx = open(idx_path, 'w')

    def write_idx(self, key: int, payload: bytes) -> None:
        """Append a record under ``key``."""
        self._idx.write(f'{int(key)}\t{self._rec.tell()}\n')
        self._write_record(payload)

    def _write_record(self, buf: bytes) -> None:
        n = len(buf)
        if n >= 1 << 29:
            raise ValueError(f'record of {n} bytes is too large for RecordIO (< 2^29)')
        dptr = 0
        for i in range(0, (n >> 2) << 2, 4):
            if buf[i:i + 4] == _MAGIC_BYTES:  # split, dropping the magic (dmlc WriteRecord)
                self._write_part(1 if dptr == 0 else 2, buf[dptr:i])
                dptr = i + 4
        self._write_part(3 if dptr != 0 else 0, buf[dptr:])
        pad = (-n) % 4
        if pad:
            self._rec.write(b'\x00' * pad)

    def _write_part(self, cflag: int, part: bytes) -> None:
        self._rec.write(_MAGIC_BYTES + struct.pack('<I', (cflag << 29) | len(part)) + part)

    def close(self) -> None:
        self._rec.close()
        self._idx.close()

    def __enter__(self) -> 'RecordIOWriter':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RecordIOIndex:
    """``{key: byte offset}`` of a ``.idx`` file in two sorted int64 arrays.

    A dict of MS1M's 5.8 M records costs ~0.6 GB in every DataLoader worker; two numpy arrays
    cost 16 bytes a record and are not touched by reference counting after a fork.

    Args:
        keys (np.ndarray): (N,) int64 record keys, unique.
        offsets (np.ndarray): (N,) int64 byte offsets, in the order of ``keys``.
    """

    def __init__(self, keys: np.ndarray, offsets: np.ndarray) -> None:
        order = np.argsort(keys, kind='stable')
        self.keys = np.ascontiguousarray(np.asarray(keys, np.int64)[order])
        self.offsets = np.ascontiguousarray(np.asarray(offsets, np.int64)[order])

    def _find(self, key) -> int:
        try:
            k = int(key)
        except (TypeError, ValueError):
            return -1
        i = int(np.searchsorted(self.keys, k))
        return i if i < len(self.keys) and self.keys[i] == k else -1

    def __contains__(self, key) -> bool:
        return self._find(key) >= 0

    def __getitem__(self, key) -> int:
        i = self._find(key)
        if i < 0:
            raise KeyError(key)
        return int(self.offsets[i])

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[int]:
        return iter(self.keys.tolist())


def _parse_index_lines(idx_path: str, text: str) -> Tuple[List[int], List[int]]:
    """Line-by-line parse of a ``.idx``; errors name the file and line."""
    keys, offsets, seen = [], [], set()
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError
            key, offset = int(parts[0]), int(parts[1])
        except ValueError:
            raise RecordIOError(f'{idx_path}:{lineno}: expected "key<TAB>offset", '
                                f'got {line!r}') from None
        if key in seen:
            raise RecordIOError(f'{idx_path}:{lineno}: duplicated key {key}')
        seen.add(key)
        keys.append(key)
        offsets.append(offset)
    return keys, offsets


def read_index(idx_path: str) -> RecordIOIndex:
    """The ``{key: byte offset}`` index of a ``.idx`` file; errors name the file and line.

    Well-formed files (one ``key<TAB>offset`` per line) are parsed by numpy at C speed; any
    other content is re-read line by line for an error naming the line.
    """
    if not osp.isfile(idx_path):
        raise FileNotFoundError(f'RecordIO index {idx_path} does not exist')
    with open(idx_path, 'rb') as f:
        buf = f.read()
    num_lines = buf.count(b'\n') + (0 if not buf or buf.endswith(b'\n') else 1)
    try:
        values = np.fromstring(buf, dtype=np.int64, sep=' ') if buf.strip() else \
            np.zeros(0, np.int64)
    except ValueError:
        values = None
    if values is not None and values.size == 2 * num_lines:
        keys, offsets = values[0::2], values[1::2]
        if len(np.unique(keys)) == len(keys):
            return RecordIOIndex(keys, offsets)
    keys, offsets = _parse_index_lines(idx_path, buf.decode('utf-8', errors='replace'))
    return RecordIOIndex(np.asarray(keys, np.int64), np.asarray(offsets, np.int64))


class RecordIOReader:
    """Random access to an indexed RecordIO file; safe to use from forked DataLoader workers.

    The file is opened lazily per process (a handle inherited through ``fork`` is not
    shared), so one reader can be pickled into worker processes.

    Args:
        rec_path (str): The ``.rec`` file.
        idx_path (str, optional): Its ``.idx``; defaults to ``rec_path`` with ``.idx``.
    """

    def __init__(self, rec_path: str, idx_path: Optional[str] = None) -> None:
        if not osp.isfile(rec_path):
            raise FileNotFoundError(f'RecordIO file {rec_path} does not exist')
        self.rec_path = rec_path
        self.idx_path = idx_path or osp.splitext(rec_path)[0] + '.idx'
        self.index = read_index(self.idx_path)
        self.size = osp.getsize(rec_path)
        self._fp = None
        self._pid = None

    @property
    def keys(self) -> List[int]:
        """Every record key, ascending."""
        return self.index.keys.tolist()

    def _file(self):
        if self._fp is None or self._pid != os.getpid():
            self._fp = open(self.rec_path, 'rb')
            self._pid = os.getpid()
        return self._fp

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_fp'] = None
        state['_pid'] = None
        return state

    def read_at(self, offset: int) -> bytes:
        """The record starting at byte ``offset`` (multi-part records joined)."""
        f = self._file()
        f.seek(offset)
        parts = []
        pos = offset
        while True:
            head = f.read(8)
            if len(head) != 8:
                raise RecordIOError(f'{self.rec_path}: truncated record header at byte {pos}')
            magic, lrec = struct.unpack('<II', head)
            if magic != MAGIC:
                raise RecordIOError(f'{self.rec_path}: bad magic 0x{magic:08x} at byte {pos} '
                                    f'(expected 0x{MAGIC:08x}); wrong offset in '
                                    f'{self.idx_path}?')
            cflag, length = lrec >> 29, lrec & _LEN_MASK
            data = f.read(length)
            if len(data) != length:
                raise RecordIOError(f'{self.rec_path}: record at byte {pos} announces {length} '
                                    f'bytes, only {len(data)} left in the file')
            pos += 8 + length
            if cflag in (0, 3):
                parts.append(data)
                break
            if cflag not in (1, 2):
                raise RecordIOError(f'{self.rec_path}: invalid cflag {cflag} at byte {pos}')
            parts.append(data + _MAGIC_BYTES)
            # parts of a split record are 4-byte multiples: no padding between them
        return b''.join(parts)

    def read_idx(self, key: int) -> bytes:
        """The record stored under ``key``."""
        if key not in self.index:
            raise KeyError(f'{self.idx_path}: no record with key {key}')
        return self.read_at(self.index[key])

    def close(self) -> None:
        if self._fp is not None:
            self._fp.close()
            self._fp = None


def insightface_image_keys(reader: RecordIOReader) -> List[int]:
    """Image-record keys of an InsightFace ``.rec`` (see the module doc), ascending."""
    keys = reader.index.keys
    if 0 in reader.index:
        header, _ = unpack(reader.read_idx(0))
        if header.flag > 0:
            end = int(np.asarray(header.label).reshape(-1)[0])
            return keys[(keys >= 1) & (keys < end)].tolist()
    return keys.tolist()
