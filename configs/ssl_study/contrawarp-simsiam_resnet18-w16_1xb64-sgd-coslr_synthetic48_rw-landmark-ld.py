# ContraWarping-SimSiam, RW† + LD, the narrow ResNet-18 of the SSL study on 48 px synthetic faces
# (not a paper row): the SimSiam row (simsiam_resnet18-w16_1xb64-sgd-coslr_synthetic48.py) plus
# x3 = a landmark-centred warp of x1 and the landmark branch.
_base_ = ['./simsiam_resnet18-w16_1xb64-sgd-coslr_synthetic48.py']

model = dict(
    type='ContraWarpSimSiam',
    head=dict(
        type='ContraWarpHead',
        # mmpretrain's SimSiam loss is 1/2 (-cos(p1, z2) - cos(p2, z1)) = -sim(1, 2), exactly
        # ContraWarpLoss's loss_cont12 with weight 1 (a test checks it)
        loss=dict(_delete_=True, type='ContraWarpLoss', target_similarity=0.6)),
    # as in the ContraWarping-BYOL RW† + LD row: 16x16 heatmaps, narrowed deconvolutions,
    # λ = 100 * 16² / 56² ~ 8 (the paper gives no λ)
    landmark_head=dict(type='LandmarkHeatmapHead', in_channels=128,
                       deconv_out_channels=(64, 64, 64), weight_squared=True),
    landmark_loss_weight=8.0)

train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadFaceImage'),
    dict(type='ContraWarpViews',
         view_pipelines=[{{_base_.view_x1}}, {{_base_.view_x2}}],
         warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='landmark'),
         moved_weight=1.0,
         unmoved_weight=0.1,
         codec=dict(type='MSRAHeatmap', input_size=(48, 48), heatmap_size=(16, 16),
                    sigma=1.5)),
    dict(type='PackContraWarpInputs'),
]))
