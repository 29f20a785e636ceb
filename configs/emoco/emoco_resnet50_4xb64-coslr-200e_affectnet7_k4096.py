# EmoCo with a small dictionary: K = 4096 keys per emotion class (7 x 4096 x 128 floats).
_base_ = './emoco_r50_8xb32-coslr-200e_affectnet7.py'
model = dict(queue_len=4096)
