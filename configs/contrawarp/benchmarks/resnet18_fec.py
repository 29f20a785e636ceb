# FEC triplet prediction accuracy of frozen ResNet-18 features (ContraWarping Tab. 7,
# "Fine-tuning: No"; the paper's rows: Random Init 34.40 / 33.75, MS1M 34.78 / 33.56,
# Ours 39.78 / 43.59 for l2 / cos): features (global average pool of the last stage) of
# every unique test image, then for each triplet the two closest embeddings form the
# similar pair and the third is predicted as the odd one out.
#   python tools/test.py configs/contrawarp/benchmarks/resnet18_fec.py CKPT
_base_ = ['../../_base_/datasets/fec.py', '../../_base_/default_runtime.py']

model = dict(
    type='ImageClassifier',  # extract_feat = GAP(backbone); no head
    backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=None)
# single images, not triplets: mmpretrain's ClsDataPreprocessor with the same normalisation
data_preprocessor = dict(_delete_=True, mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], to_rgb=True)

test_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        _delete_=True,
        type='ImageListDataset',  # the unique images of the test triplets
        source=dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
                    split='test'),
        pipeline=[
            dict(type='LoadFaceImage'),
            dict(type='Resize', scale=(224, 224)),
            dict(type='PackInputs'),
        ]))
test_cfg = dict(type='FrozenFeatureTestLoop', cache=True)
test_evaluator = dict(type='TripletAccuracy', distances=('l2', 'cosine'))

# evaluation only
train_dataloader = None
val_dataloader = None
val_evaluator = None
