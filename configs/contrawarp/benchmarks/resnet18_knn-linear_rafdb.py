# ContraWarping's frozen-feature evaluation on RAF-DB ("Linear" and "k-NN 10 / 30" columns of
# Tabs. 1-5): the backbone is frozen, features are the global average pool of its last stage
# on the test pipeline; bank = the training split, query = the test split.
#   python tools/test.py configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb.py CKPT
#   python tools/test.py ... CKPT --eval knn        # only k-NN (presets: knn, linear)
#   tools/dist_test.sh   ... CKPT 8                 # 8 processes
# k-NN: k = 10 and 30 as in the tables; cosine similarity with exp(sim / 0.07) votes (the
# InstDisc / mmselfsup weighted k-NN; the paper names no weighting or temperature).
# Linear: the paper trains "one fully-connected layer" on the frozen features and gives no
# optimiser, weight decay or schedule. We fit one FC layer on BN-standardised features with
# L-BFGS (200 iterations, seeded) and choose its weight decay on a validation split of the
# training set (LinearProbe; fixed: --cfg-options test_evaluator.1.weight_decay=1e-4). The
# SGD-trained classic protocol is resnet18_1xb64-linear-coslr-100e_rafdb.py.
_base_ = ['../../_base_/datasets/rafdb.py', '../../_base_/default_runtime.py']

model = dict(
    type='ImageClassifier',  # extract_feat = GAP(backbone); no head
    backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=None)

test_dataloader = dict(batch_size=128, num_workers=4)  # query: the test split
test_cfg = dict(
    type='FrozenFeatureTestLoop',
    bank_dataloader=dict(  # bank: the training split, same pipeline
        batch_size=128,
        num_workers=4,
        persistent_workers=True,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'),
        dataset=dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
                     split='train', pipeline={{_base_.test_pipeline}})),
    cache=True)  # <work_dir>/feature_cache, keyed on weights, configs and image files
test_evaluator = [
    dict(type='KNNAccuracy', topk=(10, 30), temperature=0.07, weighting='exp'),
    dict(type='LinearProbe', optimizer='lbfgs', epochs=200, bn=True, seed=0),
]

# evaluation only
train_dataloader = None
val_dataloader = None
val_evaluator = None
