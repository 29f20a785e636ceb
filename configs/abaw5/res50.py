# ABAW5 expression frame classifier (Xue, Sun, Yang, ABAW5 2023): ResNet-50 with the first
# two stages frozen, the SpatialFlatten neck (2048x7x7 -> 256x6x6 -> 256x3x3 -> 2304) and
# one FC over the 8 Aff-Wild2 classes; SGD lr 5e-3, cosine decay, 8000 iterations, batch 128.
#
# Fine-tune from a ContraWarping checkpoint (backbone.* kept, target_net./neck./head./
# landmark_head. dropped, error when nothing matches):
#   python tools/train.py configs/abaw5/res50.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/contrawarp/epoch_100.pth
# Class-balanced sampling: --cfg-options train_dataloader.sampler.class_balanced=True
_base_ = [
    './_base_/abaw5_res50.py',
    '../_base_/datasets/affwild2_expr.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=3,
                    save_best='fer/macro_f1', rule='greater'),
)
log_processor = dict(by_epoch=False)
