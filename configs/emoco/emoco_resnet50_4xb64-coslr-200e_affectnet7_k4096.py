# EmoCo with a small dictionary: K = 4096 keys per emotion class (7 x 4096 x 128 floats). Not a
# paper setting (the paper uses K = 65536).
_base_ = './emoco_resnet50_4xb64-coslr-200e_affectnet7.py'
model = dict(queue_len=4096)
