# Frozen-feature k-NN / linear probe on AffectNet (7 classes; its validation set is the test
# set). The ContraWarping paper reports AffectNet only for fine-tuning (Tab. 6), not for
# frozen features; this is the RAF-DB protocol of resnet18_knn-linear_rafdb.py on AffectNet,
# with a class-balanced probe because AffectNet's training classes are very unbalanced.
#   python tools/test.py configs/contrawarp/benchmarks/resnet18_knn-linear_affectnet.py CKPT
_base_ = ['../../_base_/datasets/affectnet.py', '../../_base_/default_runtime.py']

model = dict(
    type='ImageClassifier',  # extract_feat = GAP(backbone); no head
    backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=None)

test_dataloader = dict(batch_size=128, num_workers=8)  # query: the validation split
test_cfg = dict(
    type='FrozenFeatureTestLoop',
    bank_dataloader=dict(  # bank: the training split, same pipeline
        batch_size=128,
        num_workers=8,
        persistent_workers=True,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'),
        dataset=dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
                     split='train', num_classes={{_base_.num_classes}},
                     pipeline={{_base_.test_pipeline}})),
    cache=True)
test_evaluator = [
    dict(type='KNNAccuracy', topk=(10, 30), temperature=0.07, weighting='exp'),
    dict(type='LinearProbe', optimizer='lbfgs', epochs=200, bn=True, seed=0,
         class_balanced=True),
]

# evaluation only
train_dataloader = None
val_dataloader = None
val_evaluator = None
