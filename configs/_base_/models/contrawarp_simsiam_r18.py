# ContraWarping on SimSiam, ResNet-18: SimSiam (simsiam_r18.py) with the three-view head and
# the landmark-detection branch (LD).
_base_ = ['./simsiam_r18.py']

model = dict(
    type='ContraWarpSimSiam',
    head=dict(
        type='ContraWarpHead',
        # Eqs. (2)-(4); s_t = 0.6, the best value of Tab. 2
        loss=dict(_delete_=True, type='ContraWarpLoss', target_similarity=0.6)),
    # LD (§3.3, Eq. (5) with squared weights); see contrawarp_byol_r18.py for the choices
    landmark_head=dict(type='LandmarkHeatmapHead', in_channels=512, weight_squared=True),
    landmark_loss_weight=100.0,
)
