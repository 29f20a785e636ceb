# Copyright (c) mmfer contributors. All rights reserved.
import os

import pytest

from mmfer.registry import DATASETS


def test_lists_csv_and_missing(tmp_path):
    for n in ('a.jpg', 'b.jpg', 'c.jpg'):
        (tmp_path / n).write_bytes(b'x')
    ds = DATASETS.build(dict(type='ImageListDataset', img_paths=['a.jpg', 'b.jpg'],
                             labels=[1, 0], identities=['x', 'y'], data_root=str(tmp_path),
                             extra_fields=dict(face_bbox=[[0, 0, 1, 1], [1, 1, 2, 2]])))
    info = ds.get_data_info(1)
    assert info['img_path'] == str(tmp_path / 'b.jpg') and info['gt_label'] == 0
    assert info['identity'] == 'y' and info['face_bbox'] == [1, 1, 2, 2]
    with pytest.raises(ValueError, match='labels needs img_paths of the same length'):
        DATASETS.build(dict(type='ImageListDataset', img_paths=['a.jpg'], labels=[1, 2]))
    with pytest.raises(ValueError, match='exactly one of img_paths, ann_file or source'):
        DATASETS.build(dict(type='ImageListDataset'))
    # a CSV with img_path, gt_label and identity columns (the synthetic faces' meta.csv)
    (tmp_path / 'meta.csv').write_text('img_path,identity,gt_label,other\n'
                                       'train/a.jpg,3,1,z\ntest/b.jpg,4,2,z\ntest/c.jpg,p7,0,z\n')
    os.makedirs(tmp_path / 'train')
    os.makedirs(tmp_path / 'test')
    for n in ('train/a.jpg', 'test/b.jpg', 'test/c.jpg'):
        (tmp_path / n).write_bytes(b'x')
    ds = DATASETS.build(dict(type='ImageListDataset', ann_file='meta.csv',
                             data_root=str(tmp_path), path_regex='^test/'))
    assert len(ds) == 2
    assert [ds.get_data_info(i)['identity'] for i in range(2)] == [4, 'p7']
    assert [ds.get_data_info(i)['gt_label'] for i in range(2)] == [2, 0]
    os.remove(tmp_path / 'test' / 'c.jpg')
    with pytest.raises(FileNotFoundError, match=r'1 image files are missing, e.g.\n.*c.jpg'):
        DATASETS.build(dict(type='ImageListDataset', ann_file='meta.csv',
                            data_root=str(tmp_path)))
    ds = DATASETS.build(dict(type='ImageListDataset', ann_file='meta.csv',
                             data_root=str(tmp_path), skip_missing=True))
    assert len(ds) == 2
    (tmp_path / 'bad.csv').write_text('path,label\na.jpg,1\n')
    with pytest.raises(ValueError, match='bad.csv:1: the header must name an img_path'):
        DATASETS.build(dict(type='ImageListDataset', ann_file='bad.csv',
                            data_root=str(tmp_path)))


def test_unique_images_of_triplets_and_groups(tmp_path):
    (tmp_path / 'images').mkdir()
    (tmp_path / 'annotations').mkdir()
    for n in ('a', 'b', 'c', 'd'):
        (tmp_path / 'images' / f'{n}.jpg').write_bytes(b'x')
    (tmp_path / 'annotations' / 'test.csv').write_text(
        'image1,image2,image3,odd_one_out,triplet_type\n'
        'c.jpg,a.jpg,b.jpg,1,ONE_CLASS_TRIPLET\nd.jpg,b.jpg,a.jpg,3,TWO_CLASS_TRIPLET\n')
    ds = DATASETS.build(dict(type='ImageListDataset', source=dict(
        type='FEC', data_root=str(tmp_path), split='test')))
    names = [os.path.basename(ds.get_data_info(i)['img_path']) for i in range(len(ds))]
    assert names == ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg']  # unique, sorted
    groups = ds.groups()
    assert [g['indices'] for g in groups] == [[2, 0, 1], [3, 1, 0]]
    assert [(g['gt_label'], g['triplet_type']) for g in groups] == [(0, 'one_class'),
                                                                    (2, 'two_class')]
    assert DATASETS.build(dict(type='ImageListDataset', img_paths=[
        str(tmp_path / 'images' / 'a.jpg')])).groups() is None
