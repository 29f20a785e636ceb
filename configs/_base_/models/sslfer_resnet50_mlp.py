# SSL-FER downstream model (§4.1): the pre-trained ResNet-50 encoder (backbone.* of an SSLFER
# checkpoint) + global average pooling + "three MLP layers on top" (the head, set per task;
# hidden size 512: the paper gives none). Fine-tune protocol by default (everything trains);
# the frozen protocol sets backbone frozen_stages=4, norm_eval=True.
# Checkpoint: --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<sslfer run>/epoch_210.pth
pretrained = 'work_dirs/sslfer_resnet50_4xb64-adam-coslr-210e_voxceleb_f-timeaug-hardneg-faceswap-maskfn/epoch_210.pth'  # noqa: E501
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(3, ),
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
)
