# Frozen-feature evaluation on RAF-DB with tools/test.py (ContraWarping Tab. 1-5 protocol):
#   python tools/test.py configs/benchmarks/knn_rafdb_r18.py CKPT --eval knn linear [--knn-k 10 20]
# Features: GAP of the ResNet-18 backbone on the test pipeline, for the train and test splits.
_base_ = ['../_base_/datasets/rafdb.py', '../_base_/default_runtime.py']

model = dict(backbone=dict(type='ResNet', depth=18, out_indices=(3, )))

feature_eval = dict(
    train_dataset=dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
                       split='train', pipeline={{_base_.test_pipeline}}),
    test_dataset=dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
                      split='test', pipeline={{_base_.test_pipeline}}),
    batch_size=128,
    num_workers=4,
    # InstDisc / mmselfsup weighted k-NN: cosine similarity, votes exp(sim / T)
    knn=dict(k=[10, 20, 200], temperature=0.07, weighting='exp'),
    # one FC layer on BN-standardised cached features, full-batch L-BFGS (seeded)
    linear=dict(optimizer='lbfgs', epochs=200, weight_decay=1e-4, bn=True, seed=0),
)
