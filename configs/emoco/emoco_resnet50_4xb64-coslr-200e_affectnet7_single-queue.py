# EmoCo Table IV ablation without MQ: "one queue is for all classes" (§IV.E), K keys of every
# emotion as negatives. With N on, every negative is normalised with the centre of the QUERY's
# class (the paper does not say which centre; see the EmoCo docstring and configs/emoco/README.md).
_base_ = './emoco_resnet50_4xb64-coslr-200e_affectnet7.py'
model = dict(use_multi_queue=False)
