# ContraWarping-BYOL, RW† + LD (the paper's full method), the narrow ResNet-18 of the SSL study
# on 48 px synthetic faces (not a paper row): landmark-centred warps and the landmark-detection
# branch on x1 and x3 (Eq. (5) with squared weights).
_base_ = ['./contrawarp-byol_resnet18-w16_1xb64-sgd-coslr_synthetic48_rw-random.py']

# ResNet-18 on 48 px: a 2x2 last feature map -> 16x16 heatmaps after 3 deconvolutions (the
# deconvolutions narrowed 4x with the backbone: 64 instead of 256 channels)
model = dict(
    landmark_head=dict(type='LandmarkHeatmapHead', in_channels=128,
                       deconv_out_channels=(64, 64, 64), weight_squared=True),
    # λ of Eq. (6): the paper gives no value (mmfer's default 100 is for 56x56 maps); Eq. (5)
    # averages over heatmap pixels, so 16x16 maps scale it by 56²/16² ~ 12: 100 * 16² / 56² ~ 8.
    # Not multiplied by 4 with the contrastive terms: λ = 32 diverged with SGD lr 0.1 in the
    # earlier 64 px runs (NaN within 10 iterations), λ = 8 does not.
    landmark_loss_weight=8.0)

train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadFaceImage'),
    dict(type='ContraWarpViews',
         view_pipelines=[{{_base_.view_x1}}, {{_base_.view_x2}}],
         warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='landmark'),
         moved_weight=1.0,
         unmoved_weight=0.1,
         # heatmap targets encoded in the pipeline: 48 px -> 16x16 (stride 3)
         codec=dict(type='MSRAHeatmap', input_size=(48, 48), heatmap_size=(16, 16),
                    sigma=1.5)),
    dict(type='PackContraWarpInputs'),
]))
