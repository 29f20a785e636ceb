# ContraWarping-BYOL, ResNet-18, pre-trained on MS1M (InsightFace train.rec) with landmark-guided
# local warping and the landmark-detection branch (RW† + LD).
# Paper row: "ContraWarping (BYOL), ResNet-18" of the main comparison table (row name as given
# in issue 4; table numbers not checked against the paper here).
# Landmarks: tools/landmarks/extract_landmarks.py data/faces_emore/train.rec \
#                --out data/faces_emore/landmarks.npz --checkpoint <300W HRNetV2-W18 .pth>
# Train:     tools/dist_train.sh configs/contrawarp/byol_r18.py 8   (8 x 32 = 256 images/step)
_base_ = [
    '../_base_/models/contrawarp_byol_r18.py',
    '../_base_/datasets/contrawarp_pipeline.py',
    '../_base_/schedules/contrawarp_lars_coslr_50e.py',
    '../_base_/default_runtime.py',
]

model = dict(landmark_head=dict(type='LandmarkHeatmapHead', in_channels=512))

# RW†: warp centres on (jittered) landmarks; x1/x3 heatmap targets 224 -> 56 for LD.
contrawarp_views = dict(
    type='ContraWarpViews',
    view_pipelines=[{{_base_.view_pipeline_x1}}, {{_base_.view_pipeline_x2}}],
    warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='landmark'),
    moved_weight=1.0,
    unmoved_weight=0.1,
    codec=dict(type='MSRAHeatmap', input_size=(224, 224), heatmap_size=(56, 56), sigma=1.5))

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='MS1MRecordIO',
        data_root='data/faces_emore/',
        rec_file='train.rec',
        landmark_file='landmarks.npz',
        missing_landmarks='drop',  # RW† and LD need landmarks (count is logged)
        bad_images='skip',
        pipeline=[contrawarp_views, dict(type='PackContraWarpInputs')]))

# LARS lr 4.8 is for 4096 images per step; 8 x 32 = 256 here, so lr = 4.8 * 256 / 4096.
optim_wrapper = dict(optimizer=dict(lr=4.8 * 256 / 4096))
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(logger=dict(type='LoggerHook', interval=50))
