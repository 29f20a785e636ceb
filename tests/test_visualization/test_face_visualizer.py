# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

from mmfer.registry import VISUALIZERS
from mmfer.visualization import FaceVisualizer, stack_rows

_ids = iter(range(10**6))


def _vis(**kw) -> FaceVisualizer:
    return FaceVisualizer(name=f'test_face_vis_{next(_ids)}', **kw)


def test_registered_and_image_round_trip():
    vis = VISUALIZERS.build(dict(type='FaceVisualizer', name=f'reg_{next(_ids)}'))
    assert isinstance(vis, FaceVisualizer)
    img = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    vis.set_image(img)
    np.testing.assert_array_equal(vis.get_image(), img)  # pixel-exact canvas


def test_draw_landmarks_changes_pixels_only_at_the_landmarks():
    vis = _vis(point_radius=1)
    img = np.full((40, 50, 3), 128, np.uint8)
    vis.set_image(img)
    kpts = np.array([[10, 5], [30, 20], [45, 35], [2, 2]], np.float32)
    vis.draw_landmarks(kpts, visible=np.array([1, 1, 1, 0]),
                       moved=np.array([True, False, True, True]))
    out = vis.get_image()
    assert tuple(out[5, 10]) == vis.moved_color and tuple(out[20, 30]) == vis.unmoved_color
    assert tuple(out[35, 45]) == vis.moved_color
    assert tuple(out[2, 2]) == (128, 128, 128)  # invisible: not drawn
    changed = (out != img).any(-1)
    ys, xs = np.nonzero(changed)
    # every changed pixel is within the dot radius (+ anti-aliasing) of a visible landmark
    d = np.min(np.hypot(xs[:, None] - kpts[:3, 0], ys[:, None] - kpts[:3, 1]), axis=1)
    assert d.max() <= 2.5 and changed.sum() < 60
    with pytest.raises(ValueError, match='4 keypoints but visible/moved'):
        vis.draw_landmarks(kpts, visible=np.ones(3))


def test_draw_warps_and_mmengine_primitives_mix():
    vis = _vis()
    img = np.zeros((60, 60, 3), np.uint8)
    vis.set_image(img)
    vis.draw_warps([((30, 30), (40, 30), 15)])
    vis.draw_bboxes(np.array([2, 2, 8, 8]), edge_colors='white')  # mmengine's own drawing
    out = vis.get_image()
    assert tuple(out[30, 30]) == vis.warp_centre_color
    ring = np.abs(out[28:33, 14:17].astype(int) - vis.warp_radius_color).sum(-1)
    assert ring.min() < 80  # the circle (anti-aliased), r = 15 left of c
    assert (out[29:32, 36] == vis.warp_arrow_color).all(-1).any()  # on the arrow c -> m
    assert out[2, 5].min() > 150  # the box is kept after the OpenCV drawing
    assert out[45:55, 50:58].max() == 0  # outside the circle nothing changed


def test_visualize_face_scales_points_into_the_cell():
    vis = _vis(point_radius=0)
    img = np.zeros((20, 10, 3), np.uint8)
    cell = vis.visualize_face(img, np.array([[4.5, 9.5]]), title='t', resize=40)
    assert cell.shape == (40 + vis.title_height, 40, 3)
    body = cell[vis.title_height:]
    assert (body[:, 20:] == 255).all()  # the 10 px wide image fills 20 of 40 columns
    # pixel centre (4.5, 9.5) of a 2x scaled image is at (9.5, 19.5): the dot is there
    ys, xs = np.nonzero((body != 0).any(-1) & (body != 255).any(-1))
    assert len(xs) > 0 and np.abs(xs - 9.5).max() <= 1.5 and np.abs(ys - 19.5).max() <= 1.5
    assert (cell[:vis.title_height] < 255).any()  # the title text


def _packed_contrawarp(n_kpts=3):
    ds = BaseDataElement(metainfo=dict(warp_params=[((10., 10.), (14., 10.), 6.)]))
    ds.set_field(torch.tensor([[[5., 5.], [20., 20.], [9., 9.]]] * 2), 'keypoints')
    ds.set_field(torch.tensor([[1., 0.1, 0.]] * 2), 'keypoint_weights')
    ds.set_field(True, 'has_landmarks')
    views = [torch.full((3, 32, 32), v, dtype=torch.uint8) for v in (60, 120, 180)]
    return dict(inputs=views, data_samples=ds)


def test_visualize_views_row_and_legend():
    vis = _vis()
    original = dict(img=np.full((48, 48, 3), 30, np.uint8),
                    keypoints=np.array([[24., 24.]]), warp_moved=np.array([1, 0, 1], bool))
    row = vis.visualize_views(original, _packed_contrawarp(), cell=64)
    assert row.shape == (64 + vis.title_height, 4 * 64, 3)
    x1 = row[vis.title_height:, 64:128]
    # x1's landmark 0 (weight 1, moved) red at (5, 5) * 2; landmark 1 (unmoved) green
    assert tuple(x1[10, 10]) == vis.moved_color
    assert tuple(x1[40, 40]) == vis.unmoved_color
    x2 = row[vis.title_height:, 128:192]
    assert (x2 == 120).all()  # x2: no drawing
    x3 = row[vis.title_height:, 192:]
    assert (x3 == vis.warp_arrow_color).all(-1).sum() > 5  # the warp arrow on x3
    legend = vis.legend(row.shape[1])
    assert legend.shape[1] == row.shape[1] and (legend != 255).any()
    for col in (vis.moved_color, vis.unmoved_color, vis.warp_centre_color):
        assert (legend == col).all(-1).any()
    grid = stack_rows([legend, row, row[:, :100]])
    assert grid.shape == (legend.shape[0] + 2 * row.shape[0] + 12, row.shape[1], 3)


def test_visualize_views_multiview_titles():
    vis = _vis()
    ds = BaseDataElement(metainfo=dict(view_roles=['anchor', 'positive', 'hardneg'],
                                       view_info=dict(positive=dict(frame=3,
                                                                    time_offset=0.4))))
    ds.set_field(7, 'frame')
    ds.set_field(False, 'hardneg_valid')
    packed = dict(inputs=[torch.zeros(3, 16, 16, dtype=torch.uint8)] * 3, data_samples=ds)
    row = vis.visualize_views(dict(img=np.zeros((16, 16, 3), np.uint8)), packed, cell=32)
    assert row.shape == (32 + vis.title_height, 4 * 32, 3)


def test_draw_face_result_and_image_grid():
    from mmfer.visualization import image_grid
    vis = FaceVisualizer(name='face_result_test')
    img = np.full((200, 200, 3), 40, np.uint8)
    vis.set_image(img)
    vis.draw_face_result([50, 80, 150, 180], ['Happiness 0.80', 'Neutral 0.10'],
                         keypoints=np.array([[60., 100.], [140., 100.]]),
                         keypoints5=np.array([[70., 110.], [np.nan, np.nan]]), track=1)
    out = vis.get_image()
    changed = (out != img).any(axis=2)
    assert changed[80, 50:150].all() and changed[180, 50:150].all()  # the box edges
    assert changed[:80, 50:150].any()                # the label above the box
    assert not changed[185:, :].any()                # nothing below the box
    assert tuple(out[100, 60]) == FaceVisualizer.landmark_color
    assert tuple(out[110, 70]) == FaceVisualizer.keypoint5_color
    # a box at the top: the label goes below it
    vis.set_image(img)
    vis.draw_face_result([50, 0, 150, 60], ['Surprise 0.50'])
    assert (vis.get_image() != img).any(axis=2)[61:90, 50:150].any()
    grid = image_grid([img, None, img], ['a', 'b', 'c'], cols=2, cell=50)
    assert grid.shape[1] == 100 and grid.shape[0] == 2 * (50 + vis.title_height) + 2 * 4
