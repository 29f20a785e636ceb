# k-NN + linear probe on synthetic faces written in RAF-DB's layout at 64 px (what `make demo`
# evaluates):  python tools/misc/make_synthetic_faces.py data/demo/rafdb --format rafdb \
#                  --num 1500 --image-size 64 --seed 1000
#              python tools/test.py configs/benchmarks/knn_rafdb_r18_synthetic.py CKPT --eval knn linear
_base_ = ['./knn_rafdb_r18.py']

data_root = 'data/demo/rafdb'
img_size = 64
test_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]
feature_eval = dict(
    train_dataset=dict(data_root=data_root, pipeline=test_pipeline),
    test_dataset=dict(data_root=data_root, pipeline=test_pipeline),
    batch_size=128,
    num_workers=0,
    knn=dict(k=[10, 20]))
