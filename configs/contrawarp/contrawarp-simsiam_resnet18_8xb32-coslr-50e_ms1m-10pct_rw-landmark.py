# Ablation: SimSiam + landmark-based random warping (RW†), no landmark branch, ResNet-18,
# 50 epochs on the random 10% of MS1M.
# Paper row: Tab. 1 "SimSiam + RW†": RAF-DB linear 72.00, k-NN (k = 10 / 30) 54.53 / 54.89.
_base_ = ['./contrawarp-simsiam_resnet18_8xb32-coslr-50e_ms1m-10pct_rw-landmark-ld.py']

model = dict(landmark_head=None)

contrawarp_views = dict(
    type='ContraWarpViews',
    view_pipelines={{_base_.contrawarp_views.view_pipelines}},
    warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='landmark'),
    codec=None)  # no heatmap targets without the landmark branch

train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadFaceImage', ignore_empty=True), contrawarp_views,
        dict(type='PackContraWarpInputs')
    ]))
