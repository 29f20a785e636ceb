# Frozen-feature k-NN / linear probe on AffectNet (7 classes; validation = test set).
#   python tools/test.py configs/benchmarks/knn_affectnet_r18.py CKPT --eval knn linear
_base_ = ['../_base_/datasets/affectnet.py', '../_base_/default_runtime.py']

model = dict(backbone=dict(type='ResNet', depth=18, out_indices=(3, )))

feature_eval = dict(
    train_dataset=dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
                       split='train', num_classes={{_base_.num_classes}},
                       pipeline={{_base_.test_pipeline}}),
    test_dataset=dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
                      split='val', num_classes={{_base_.num_classes}},
                      pipeline={{_base_.test_pipeline}}),
    batch_size=128,
    num_workers=8,
    knn=dict(k=[10, 20, 200], temperature=0.07, weighting='exp'),
    linear=dict(optimizer='lbfgs', epochs=200, weight_decay=1e-4, bn=True, seed=0,
                class_balanced=True),
)
