# ContraWarping-BYOL, ResNet-50, the paper's main setting: MS1M, LARS lr 4.8, total batch 4096
# (8 GPUs x 512), 50 epochs, RW† + LD.
# Paper row: "ContraWarping (BYOL), ResNet-50" of the main comparison table (row name as given
# in issue 4; table numbers not checked against the paper here).
# Train: tools/dist_train.sh configs/contrawarp/byol_r50.py 8
_base_ = [
    '../_base_/models/contrawarp_byol_r50.py',
    '../_base_/datasets/contrawarp_pipeline.py',
    '../_base_/schedules/contrawarp_lars_coslr_50e.py',
    '../_base_/default_runtime.py',
]

model = dict(landmark_head=dict(type='LandmarkHeatmapHead', in_channels=2048))

contrawarp_views = dict(
    type='ContraWarpViews',
    view_pipelines=[{{_base_.view_pipeline_x1}}, {{_base_.view_pipeline_x2}}],
    warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='landmark'),
    moved_weight=1.0,
    unmoved_weight=0.1,
    codec=dict(type='MSRAHeatmap', input_size=(224, 224), heatmap_size=(56, 56), sigma=1.5))

train_dataloader = dict(
    batch_size=512,  # per GPU: 8 x 512 = 4096
    num_workers=16,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='MS1MRecordIO',
        data_root='data/faces_emore/',
        rec_file='train.rec',
        landmark_file='landmarks.npz',
        missing_landmarks='drop',
        bad_images='skip',
        pipeline=[contrawarp_views, dict(type='PackContraWarpInputs')]))
