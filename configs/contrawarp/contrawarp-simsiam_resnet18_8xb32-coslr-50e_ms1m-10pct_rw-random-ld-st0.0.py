# The s_t sweep: SimSiam + RW* + LD (random warping positions) with target similarity
# s_t = 0 in Eq. (4), ResNet-18, 50 epochs on the random 10% of MS1M.
# Paper row: Tab. 2 "s_t = 0": sim(1,3) -0.16 (the mean of the last mini-batch, logged as
# sim13), RAF-DB linear 68.58, k-NN (k = 10 / 30) 51.50 / 50.85. The s_t = 0.6 row is
# contrawarp-simsiam_resnet18_8xb32-coslr-50e_ms1m-10pct_rw-random-ld.py.
_base_ = ['./contrawarp-simsiam_resnet18_8xb32-coslr-50e_ms1m-10pct_rw-random-ld.py']

model = dict(head=dict(loss=dict(target_similarity=0.0)))
