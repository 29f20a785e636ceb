# SimSiam's recipe (see contrawarp_sgd_coslr_50e.py) for 20 epochs: §4.3 "for 20 epochs on 100%
# MS1M for comparison with the state of the arts" (Tab. 4).
_base_ = ['./contrawarp_sgd_coslr_50e.py']

param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=20, by_epoch=True, begin=0, end=20,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=20)
