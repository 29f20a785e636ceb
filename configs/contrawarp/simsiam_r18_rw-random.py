# Ablation RW*: ContraWarping-SimSiam, ResNet-18, local warps at RANDOM centres, no landmark
# branch (needs no landmarks). Paper ablation-table row "RW*" (row name as given in issue 4).
# s_t sweep: --cfg-options model.contrawarp_loss.target_similarity=0.4
_base_ = ['./simsiam_r18.py']

model = dict(landmark_head=None)

contrawarp_views = dict(
    type='ContraWarpViews',
    view_pipelines=[{{_base_.view_pipeline_x1}}, {{_base_.view_pipeline_x2}}],
    warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='random'),
    moved_weight=1.0,
    unmoved_weight=0.1,
    codec=None)  # no heatmap targets without the landmark branch

train_dataloader = dict(
    dataset=dict(
        landmark_file=None,
        missing_landmarks='keep',
        pipeline=[contrawarp_views, dict(type='PackContraWarpInputs')]))
