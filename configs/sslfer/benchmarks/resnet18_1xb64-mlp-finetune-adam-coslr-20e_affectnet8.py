# SSL-FER downstream for the small ResNet-18 variant (not a paper row): the fine-tune AffectNet-8
# protocol of resnet50_1xb64-mlp-finetune-adam-coslr-20e_affectnet8.py on a ResNet-18 encoder.
_base_ = './resnet50_1xb64-mlp-finetune-adam-coslr-20e_affectnet8.py'
pretrained = 'work_dirs/sslfer_resnet18_4xb64-adam-coslr-210e_voxceleb_f-timeaug-hardneg-faceswap-maskfn/epoch_210.pth'  # noqa: E501
model = dict(
    backbone=dict(depth=18, init_cfg=dict(checkpoint=pretrained)),
    head=dict(in_channels=512))
