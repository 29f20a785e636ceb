# Copyright (c) mmfer contributors. All rights reserved.
"""Image decoding with errors that name the file, shared by the datasets and transforms.

:func:`decode_image` is the one place where encoded bytes become an image; every reader
(:class:`LoadFaceImage` below, the temporal views, the landmark tool) goes through it, so a
corrupt, truncated or empty file always fails with ``ValueError('<path> is corrupt or not an
image ...')`` instead of a bare ``None`` from OpenCV.
"""
import logging
import os
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadImageFromFile as _MMCVLoadImageFromFile
from mmengine.logging import print_log

from mmfer.registry import TRANSFORMS


def decode_image(buf: bytes, path: str, owner: str = '', flag: str = 'color',
                 backend: Optional[str] = None) -> np.ndarray:
    """Decode encoded image bytes, raising a ``ValueError`` that names ``path``.

    Args:
        buf (bytes): The encoded image (JPEG, PNG ...).
        path (str): Where the bytes come from (a file path or ``'train.rec#17'``); only used
            in the error message.
        owner (str): Prefix of the message (e.g. the dataset class name).
        flag (str): ``mmcv.imfrombytes`` colour flag. Defaults to ``'color'`` (H, W, 3) BGR.
        backend (str, optional): ``mmcv.imfrombytes`` backend (OpenCV by default).

    Returns:
        np.ndarray: (H, W, 3) uint8 BGR for ``flag='color'`` ((H, W) for ``'grayscale'``).

    Raises:
        ValueError: empty, truncated, corrupt or non-image bytes.
    """
    prefix = f'{owner}: ' if owner else ''
    img = None
    if buf:
        try:
            img = mmcv.imfrombytes(buf, flag=flag, backend=backend)
        except Exception as e:  # noqa: BLE001 - PIL/turbojpeg errors, re-raised with the path
            raise ValueError(f'{prefix}image {path} is corrupt or not an image '
                             f'({len(buf)} bytes): {e}') from e
    if img is None or img.size == 0:
        raise ValueError(f'{prefix}image {path} is corrupt or not an image ({len(buf)} bytes; '
                         'cannot decode it: truncated, empty or not an image file)')
    return img


@TRANSFORMS.register_module()
class LoadFaceImage(_MMCVLoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with errors that name the file, and counted skips.

    Registered under its own name (as mmpose's ``LoadImage``), so ``type='LoadImageFromFile'``
    keeps meaning mmcv's transform; arguments are mmcv's. Bytes are read with mmengine's file
    backends, so ``'recordio://<file.rec>#<key>'`` paths (what
    :class:`~mmfer.datasets.MS1MRecordIO` lists) are read from RecordIO files
    (:mod:`mmfer.datasets.recordio_backend`). Differences from mmcv's transform:

    - a file that cannot be decoded raises ``ValueError('<path> is corrupt or not an image
      ...')`` (mmcv asserts, which is stripped by ``python -O`` and ignores
      ``ignore_empty``); a missing/unreadable file raises ``FileNotFoundError``/``OSError``
      naming it;
    - with ``ignore_empty=True`` a missing or corrupt image is skipped (``None`` is returned,
      so mmengine's ``BaseDataset`` draws another sample in training), **counted**
      (:attr:`num_skipped`, per process) and logged with the reason, never silently.

    Required keys: ``img_path``. Added keys: ``img``, ``img_shape``, ``ori_shape``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.num_skipped = 0

    def _read(self, filename: str) -> bytes:
        if self.file_client_args is not None:
            client = fileio.FileClient.infer_client(self.file_client_args, filename)
            return client.get(filename)
        return fileio.get(filename, backend_args=self.backend_args)

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        try:
            try:
                buf = self._read(filename)
            except FileNotFoundError as e:
                hint = ''
                if '#' in str(filename):  # a RecordIO record: say which part is missing
                    hint = f' ({e})' if '://' in str(filename) else (
                        f' (a RecordIO record? write it recordio://{filename} or set '
                        "backend_args=dict(backend='recordio'))")
                raise FileNotFoundError(f'LoadFaceImage: image {filename} does not exist'
                                        f'{hint}') from e
            except OSError as e:
                raise OSError(f'LoadFaceImage: cannot read image {filename}: {e}') from e
            img = decode_image(buf, filename, 'LoadFaceImage', self.color_type,
                               self.imdecode_backend)
        except (OSError, ValueError) as e:
            if not self.ignore_empty:
                raise
            self.num_skipped += 1
            print_log(f'{e}; skipped (ignore_empty=True, {self.num_skipped} skipped so far in '
                      f'process {os.getpid()})', logger='current', level=logging.WARNING)
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
