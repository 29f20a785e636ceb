# Copyright (c) mmfer contributors. All rights reserved.
from .contrawarp_loss import ContraWarpLoss  # noqa: F401
from .ccc_loss import CCCLoss, concordance_cc  # noqa: F401
from .infonce import InfoNCELoss, info_nce  # noqa: F401
from .balanced_softmax import BalancedSoftmaxLoss  # noqa: F401
from .fec_triplet_loss import FECTripletLoss  # noqa: F401
