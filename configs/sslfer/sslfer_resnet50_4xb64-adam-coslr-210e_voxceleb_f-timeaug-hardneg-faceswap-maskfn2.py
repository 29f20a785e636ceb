# SSL-FER Table 4, MaskFN(2): the full model (Table 1 row f) with two mined false negatives per
# anchor (N_FN = 2) instead of one.
_base_ = './sslfer_resnet50_4xb64-adam-coslr-210e_voxceleb_f-timeaug-hardneg-faceswap-maskfn.py'
model = dict(num_false_negatives=2)
