# ContraWarping-BYOL with random warp centres (RW*, no landmark branch), the narrow ResNet-18
# of the SSL study on 48 px synthetic faces (not a paper row): the network, optimiser,
# schedule and views x1/x2 of the BYOL row (byol_resnet18-w16_1xb64-sgd-coslr_synthetic48.py)
# plus x3 = a local warp of x1 at random centres.
_base_ = ['./byol_resnet18-w16_1xb64-sgd-coslr_synthetic48.py']

model = dict(
    type='ContraWarpBYOL',
    head=dict(
        type='ContraWarpHead',
        # Loss scale of the BYOL row: mmpretrain's BYOL loss is 2 (-cos(p1, z2) - cos(p2, z1))
        # = -4 sim(1, 2), four times ContraWarpLoss's -sim(1, 2). Both terms weighted by 4 make
        # loss_cont12 exactly BYOL's loss under the same SGD step (a test checks it).
        loss=dict(_delete_=True, type='ContraWarpLoss', target_similarity=0.6,
                  loss_weight_12=4.0, loss_weight_13=4.0)))

cw_views = dict(
    type='ContraWarpViews',
    view_pipelines=[{{_base_.view_x1}}, {{_base_.view_x2}}],
    # RandomLocalWarp's ranges (§4.3) are for 224 px and scale with the image size
    warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='random'),
    moved_weight=1.0,
    unmoved_weight=0.1)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadFaceImage'), cw_views,
    dict(type='PackContraWarpInputs')
]))
