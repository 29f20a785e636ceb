# EmoCo Table IV ablation without L_emo: "when applying L_cont alone, EmoCo reduces to
# multi-queue MoCo" (§IV.E): no emotion classifier, hence no intra-class normalisation (its
# centres are the classifier's weight rows); negatives still come from the query's class queue.
_base_ = './emoco_resnet50_4xb64-coslr-200e_affectnet7.py'
model = dict(emo_head=None, use_intra_norm=False)
