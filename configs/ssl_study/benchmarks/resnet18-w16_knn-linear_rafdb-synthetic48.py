# Frozen-feature evaluation of the SSL study's narrow ResNet-18 (16 base channels, 128-d
# features) on its labelled 48 px synthetic faces (RAF-DB layout; the train split is the bank,
# the test split the query, and they never share a person): k-NN (k = 10, 30), the linear probe
# (weight decay chosen on an identity-grouped validation split of the bank), identity 1-NN and
# the effective rank of the test features. Not a paper setting.
#   python tools/test.py configs/ssl_study/benchmarks/resnet18-w16_knn-linear_rafdb-synthetic48.py CKPT
_base_ = ['../../contrawarp/benchmarks/resnet18_knn-linear_rafdb.py']

data_root = 'data/ssl_study/cpu/rafdb/'
img_size = 48
model = dict(backbone=dict(base_channels=16, stem_channels=16, norm_cfg=dict(type='BN')))
test_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=256, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_cfg = dict(bank_dataloader=dict(
    batch_size=256, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline)))
test_evaluator = [
    dict(type='KNNAccuracy', topk=(10, 30), temperature=0.07, weighting='exp'),
    dict(type='LinearProbe', optimizer='lbfgs', epochs=200, bn=True, seed=0),
    dict(type='IdentityNN'),
    dict(type='EffectiveRank'),
]
