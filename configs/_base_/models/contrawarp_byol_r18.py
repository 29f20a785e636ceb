# ContraWarping on BYOL, ResNet-18: BYOL (byol_r18.py) with the three-view head and the
# landmark-detection branch (LD). ResNet-50: backbone depth 50, neck and landmark head
# in_channels 2048 (see configs/contrawarp/contrawarp-byol_resnet50_*.py).
_base_ = ['./byol_r18.py']

model = dict(
    type='ContraWarpBYOL',
    head=dict(
        type='ContraWarpHead',
        # Eqs. (2)-(4); s_t = 0.6, the best value of Tab. 2
        loss=dict(_delete_=True, type='ContraWarpLoss', target_similarity=0.6)),
    # §3.3: "several deconvolutional layers" (the paper gives no depth or width; mmpose's
    # SimpleBaseline head: 3 x (256 ch, k=4) deconvs + 1x1 conv -> 68 heatmaps, 7x7 -> 56x56);
    # Eq. (5) with its squared weights (weight_squared=True)
    landmark_head=dict(type='LandmarkHeatmapHead', in_channels=512, weight_squared=True),
    # lambda of Eq. (6): the paper gives no value; 100 brings lambda (L_lm1 + L_lm3) to the
    # order of the contrastive terms at initialisation (not tuned)
    landmark_loss_weight=100.0,
)
