# Ablation: SimSiam + totally random warping (RW*: centres ~ U(50, 150) per axis), no landmark
# branch, ResNet-18, 50 epochs on the random 10% of MS1M; needs no landmarks.
# Paper row: Tab. 1 "SimSiam + RW*": RAF-DB linear 71.71, k-NN (k = 10 / 30) 53.98 / 53.16.
_base_ = ['./contrawarp-simsiam_resnet18_8xb32-coslr-50e_ms1m-10pct_rw-landmark-ld.py']

model = dict(landmark_head=None)

contrawarp_views = dict(
    type='ContraWarpViews',
    view_pipelines={{_base_.contrawarp_views.view_pipelines}},
    warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='random'),
    codec=None)  # no heatmap targets without the landmark branch

train_dataloader = dict(
    dataset=dict(
        landmark_file=None,
        pipeline=[
            dict(type='LoadFaceImage', ignore_empty=True), contrawarp_views,
            dict(type='PackContraWarpInputs')
        ]))
