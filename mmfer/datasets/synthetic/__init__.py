# Copyright (c) mmfer contributors. All rights reserved.
"""Procedural synthetic faces with exact 68-point landmarks, for tests, demos and sanity checks.

Usage::

    from mmfer.datasets.synthetic import SyntheticFaceGenerator, EXPRESSION_CLASSES
    gen = SyntheticFaceGenerator(image_size=112, seed=0)
    face = gen.render(identity=3, expression='happiness', intensity=1.0, seed=7)
    frames = gen.render_video(identity=3, num_frames=50, seed=1)
    for face in gen.sample(100, seed=0, num_identities=20): ...

``SyntheticFaceGenerator(image_size=112, seed=0, noise_std=3.0, pose_jitter=1.0,
lighting=0.2)``: ``seed`` fixes what every person looks like (identity ``k`` is the same
person for the same generator seed); the other arguments scale the per-sample nuisances.

- ``render(identity, expression='neutral', intensity=1.0, seed=None, aus=None)`` returns a dict
  ``img`` (S, S, 3) uint8 BGR, ``keypoints`` (68, 2) float32 pixels in iBUG 300-W order (the
  points the eyes, brows, nose, lips and jaw are drawn through), ``gt_label`` (index into
  :data:`EXPRESSION_CLASSES`), ``expression``, ``intensity``, ``aus`` (A,) float32 activations
  in [0, 1] named by :data:`AU_NAMES`, ``valence``/``arousal`` in [-1, 1], ``identity``,
  ``video`` (-1), ``frame`` (-1) and ``face_bbox`` (x1, y1, x2, y2 of the head).
- ``render_video(identity, num_frames=50, seed=0, video=None, expressions=None,
  segment_frames=(12, 36), intensity_range=(0.5, 1.0))``: a list of such dicts whose AUs,
  valence/arousal and head pose move smoothly between random key expressions; ``video``
  defaults to ``seed`` and ``frame`` counts from 0. ``video_plan`` (same arguments, no
  pixels) + ``render_frame`` / ``frame_keypoints`` give any single frame of such a clip.
- ``sample(num, seed=0, num_identities=50, identity_offset=0, expressions=None,
  intensity_range=(0.6, 1.0))``: an iterator of stills whose identity and expression are drawn
  independently and uniformly (identity does not predict expression).
- ``identity_params(identity)``: the identity factors (face shape, eye spacing, colours,
  hair style, background, mean pose); ``render_background(identity, seed)``: a picture
  without a face.

Identity factors (shape, colours, hair, background, mean pose) come only from
``(generator seed, identity)``; expression factors (AU-like: brow raise/lower/tilt, eye
openness, cheek raise, nose wrinkle, lip corners up/down, lip stretch/press, mouth and jaw
opening) only from the expression and the per-sample seed.

Writers in :mod:`.writers` put such faces on disk in the layouts of the real datasets
(``WRITERS``: image folder + ``landmarks.npz``, RAF-DB, AffectNet, FER2013, Aff-Wild2,
VoxCeleb, FEC, MS1M RecordIO, LFW, and the raw BP4D / DISFA / GFT AU releases), each with a
``meta.csv`` of every image's identity, expression, video and frame.

Datasets in :mod:`.dataset` render faces on the fly instead (nothing on disk):
:class:`SyntheticFaceDataset` (stills, items like ``FaceFolderDataset``'s) and
:class:`SyntheticFaceVideoDataset` (clips, items like ``VoxCelebFrames``', for the SSL-FER
temporal views).
"""
from ._io import check_out_root, fresh_out_root
from .dataset import (SyntheticFaceBackend, SyntheticFaceDataset, SyntheticFaceVideoDataset,
                      SyntheticFrameIndex)
from .face_model import (AU_NAMES, EXPRESSION_CLASSES, EXPRESSION_PROTOTYPES,
                         VALENCE_AROUSAL, IdentityParams, expression_index)
from .generator import SyntheticFaceGenerator
from .writers import (IDENTITY_SPLITS, WRITERS, split_identities, write_affectnet,
                      write_affwild2, write_bp4d, write_disfa, write_face_folder, write_fec,
                      write_fer2013, write_gft, write_lfw, write_ms1m, write_rafdb,
                      write_voxceleb)

__all__ = [
    'AU_NAMES', 'EXPRESSION_CLASSES', 'EXPRESSION_PROTOTYPES', 'VALENCE_AROUSAL',
    'IdentityParams', 'SyntheticFaceGenerator', 'expression_index', 'WRITERS',
    'IDENTITY_SPLITS', 'split_identities', 'write_affectnet', 'write_affwild2',
    'write_bp4d', 'write_disfa', 'write_face_folder', 'write_fec', 'write_fer2013',
    'write_gft', 'write_lfw', 'write_ms1m', 'write_rafdb', 'write_voxceleb',
    'SyntheticFaceBackend', 'SyntheticFaceDataset', 'SyntheticFaceVideoDataset',
    'SyntheticFrameIndex', 'check_out_root', 'fresh_out_root'
]
