# EmoCo Table IV ablation without L_cont: "When utilizing L_emo alone, EmoCo reduces to a plain
# emotion classification network" (§IV.E): no contrastive head, no queue, no momentum encoder.
_base_ = './emoco_resnet50_4xb64-coslr-200e_affectnet7.py'
model = dict(head=None, use_intra_norm=False)
