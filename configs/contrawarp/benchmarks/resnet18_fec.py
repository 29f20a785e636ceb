# FEC triplet prediction accuracy on frozen ResNet-18 features (ContraWarping Tab. 7,
# "fine-tuning: No"):
#   python tools/test.py configs/benchmarks/fec_r18.py CKPT --eval fec
_base_ = ['../_base_/datasets/fec.py', '../_base_/default_runtime.py']

model = dict(backbone=dict(type='ResNet', depth=18, out_indices=(3, )))
data_preprocessor = {{_base_.data_preprocessor}}

feature_eval = dict(
    fec_dataset=dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
                     split='test'),
    # per-image pipeline of the unique FEC images
    fec_pipeline=[
        dict(type='LoadFaceImage'),
        dict(type='Resize', scale=(224, 224)),
        dict(type='PackInputs'),
    ],
    batch_size=128,
    num_workers=4,
)
