# k-NN + linear probe on synthetic faces written in RAF-DB's layout at 64 px (what `make demo`
# evaluates; not a paper setting):
#   python tools/misc/make_synthetic_faces.py data/demo/rafdb --format rafdb \
#       --num 1500 --image-size 64 --seed 1000
#   python tools/test.py configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb-synthetic64.py CKPT
_base_ = ['./resnet18_knn-linear_rafdb.py']

data_root = 'data/demo/rafdb'
img_size = 64
test_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=128, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_cfg = dict(bank_dataloader=dict(
    batch_size=128, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline)))
