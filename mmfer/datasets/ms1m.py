# Copyright (c) mmfer contributors. All rights reserved.
"""MS1M as InsightFace distributes it (``train.rec`` + ``train.idx``), listed for a pipeline."""
import os.path as osp
from typing import List

from mmfer.registry import DATASETS
from .face_folder import FaceFolderDataset
from .recordio import RecordIOReader, insightface_image_keys
from .recordio_backend import record_path


@DATASETS.register_module()
class MS1MRecordIO(FaceFolderDataset):
    """MS1M (InsightFace ``train.rec`` + ``train.idx``) as an unlabeled face dataset.

    A :class:`FaceFolderDataset` whose images are the image records of a RecordIO pair (see
    :func:`~mmfer.datasets.recordio.insightface_image_keys`): every option (landmarks,
    ``missing_landmarks``, ``subset_fraction`` ...) works the same. The dataset only lists;
    the pipeline loads: an image's ``img_path`` is ``'recordio://<data_root>/<rec>#<key>'``,
    which ``LoadFaceImage`` reads through the ``recordio`` file backend
    (:mod:`mmfer.datasets.recordio_backend`); its landmark-file key is
    ``'<rec file name>#<key>'``, e.g. ``'train.rec#17'`` (what
    ``tools/landmarks/extract_landmarks.py`` writes).

    MS1M is sorted by identity, so a subset for ablations must be random, not the first N
    images: use ``subset_fraction`` (seeded, counted and logged), not mmengine's ``indices``.

    Args:
        data_root (str): Folder holding the files.
        rec_file (str): The ``.rec``, relative to ``data_root``, with its ``.idx`` next to it.
            Defaults to 'train.rec'.
        **kwargs: :class:`FaceFolderDataset` arguments (not ``ann_file``/``data_prefix``).
    """

    METAINFO = dict(dataset_name='MS1M-RecordIO')

    def __init__(self, data_root: str = '', rec_file: str = 'train.rec', **kwargs) -> None:
        for key in ('ann_file', 'data_prefix'):
            if kwargs.get(key):
                raise ValueError(f'MS1MRecordIO reads {rec_file}; it takes no {key}')
        self.rec_file = rec_file
        kwargs.setdefault('check_files', False)  # every listed key is in the index
        super().__init__(data_root=data_root, **kwargs)

    def _data_infos(self) -> List[dict]:
        rec = self._resolve(self.rec_file)
        reader = RecordIOReader(rec)
        try:
            keys = insightface_image_keys(reader)
        finally:
            reader.close()
        name = osp.basename(self.rec_file)
        return [dict(img_path=record_path(rec, key), landmark_key=f'{name}#{key}')
                for key in keys]
