# Copyright (c) mmfer contributors. All rights reserved.
from .align_face import (FACE_TEMPLATES, AlignFace, align_face, get_face_template,
                         keypoints68_to_5)
from .contrawarp_views import ContraWarpViews
from .crop_face_box import CropFaceBox
from .face_swap import FaceSwap, similarity_transform, swap_expression
from .face_geometric import FaceRandomCrop, FaceRandomFlip, FaceResize
from .formatting import PackContraWarpInputs, PackMultiViewInputs
from .photometric import SafeColorJitter, adjust_hue
from .loading import LoadFaceImage, decode_image
from .heatmap import build_codec, encode_heatmaps
from .random_local_warp import RandomLocalWarp
from .temporal import HardNeg, TimeAug
from .wrappers import ApplyToViews
from .landmark_mask import RandomLandmarkMask, mask_face_part
from .cutmix import CenterCutMix, center_cutmix
from .utils import FLIP_PAIRS_68, flip_indices
from .warping import (STRENGTH_MODES, fold_mask, local_warp, sample_warp_params,
                      warp_inverse_map, warp_points)

__all__ = [
    'local_warp', 'warp_points', 'warp_inverse_map', 'fold_mask', 'sample_warp_params',
    'STRENGTH_MODES',
    'RandomLocalWarp', 'ContraWarpViews', 'FaceResize', 'FaceRandomCrop', 'FaceRandomFlip',
    'build_codec', 'encode_heatmaps', 'PackContraWarpInputs', 'PackMultiViewInputs',
    'FLIP_PAIRS_68', 'flip_indices', 'SafeColorJitter', 'adjust_hue',
    'FaceSwap', 'swap_expression', 'similarity_transform', 'TimeAug', 'HardNeg', 'ApplyToViews',
    'LoadFaceImage', 'decode_image', 'CropFaceBox', 'AlignFace', 'align_face',
    'get_face_template', 'keypoints68_to_5', 'FACE_TEMPLATES',
    'RandomLandmarkMask', 'mask_face_part', 'CenterCutMix', 'center_cutmix'
]
