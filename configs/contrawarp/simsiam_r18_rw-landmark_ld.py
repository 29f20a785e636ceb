# Ablation RW† + LD: landmark-guided warps plus the landmark-detection branch, i.e. the full
# method of simsiam_r18.py. Paper ablation-table row "RW† + LD" (row name as given in issue 4).
# s_t sweep: --cfg-options model.contrawarp_loss.target_similarity=0.4
# Landmark-loss weight: --cfg-options model.landmark_loss_weight=50
_base_ = ['./simsiam_r18.py']
