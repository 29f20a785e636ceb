# ContraWarping on MoCo v2, ResNet-18: MoCo v2 (mocov2_r18.py) whose loss appends the warped
# view's key to the negatives (§4.5: "We simply append our x3 feature to the dictionary as full
# negative examples"), with the landmark-detection branch (LD).
_base_ = ['./mocov2_r18.py']

model = dict(
    type='ContraWarpMoCoV2',
    # LD (§3.3, Eq. (5) with squared weights); see contrawarp_byol_r18.py for the choices
    landmark_head=dict(type='LandmarkHeatmapHead', in_channels=512, weight_squared=True),
    landmark_loss_weight=100.0,
)
