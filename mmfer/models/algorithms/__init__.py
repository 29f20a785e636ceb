# Copyright (c) mmfer contributors. All rights reserved.
from .contrawarp_byol import ContraWarpBYOL  # noqa: F401
from .contrawarp_mocov2 import ContraWarpMoCoV2  # noqa: F401
from .contrawarp_simsiam import ContraWarpSimSiam  # noqa: F401
from .sslfer import SSLFER  # noqa: F401
from .emoco import EmoCo  # noqa: F401
from .fec_embedder import FECEmbedder  # noqa: F401
