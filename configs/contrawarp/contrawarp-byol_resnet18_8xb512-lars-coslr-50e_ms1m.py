# ContraWarping on BYOL (RW† + LD), ResNet-18, pre-trained on 100% MS1M: the paper's main
# result. Paper rows: Tab. 4 "BYOL + Ours" = Tab. 5 "Ours, Res-18" (the abstract's 79.95%):
# RAF-DB linear 79.95, k-NN (k = 10 / 30) 62.48 / 63.92.
# §4.3: batch 4096 with LARS, lr 4.8, 50 epochs on 100% MS1M (here 8 GPUs x 512).
# Other batch sizes keep 4.8 per 4096 images with --auto-scale-lr, e.g. 8 GPUs x 64:
#   tools/dist_train.sh THIS_CONFIG 8 --auto-scale-lr --cfg-options train_dataloader.batch_size=64
# Landmarks first: tools/landmarks/extract_landmarks.py data/faces_emore/train.rec \
#     --out data/faces_emore/landmarks.npz --checkpoint <300W HRNetV2-W18 .pth>
_base_ = [
    '../_base_/models/contrawarp_byol_r18.py',
    '../_base_/datasets/ms1m_contrawarp_byol.py',
    '../_base_/schedules/contrawarp_lars_coslr_50e.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=512, num_workers=16)  # 8 GPUs x 512 = 4096
# Online monitor of expression vs identity during pre-training (off): add
# '../_base_/feature_monitor.py' to _base_ and
#   custom_hooks = [dict(type='EMAMomentumLoggerHook'), {{_base_.feature_monitor}}]
