# Online monitor of what a pre-training learns (FeatureMonitorHook, mmfer.engine): every
# `interval` iterations the backbone being trained embeds a small labelled set, and the log and
# vis_data/scalars.json get its expression k-NN accuracy (query vs bank, k = 10 and 30), the
# effective rank of the features (a collapse alarm) and, when the samples carry identities
# (e.g. the synthetic faces' meta.csv), identity 1-NN. Off in the paper configs. To switch it
# on, add this file to a config's _base_ list and append the hook to its custom_hooks:
#   _base_ = [..., '../_base_/feature_monitor.py']
#   custom_hooks = [dict(type='EMAMomentumLoggerHook'), {{_base_.feature_monitor}}]
# (a variable, not custom_hooks itself: mmengine forbids the same key in two _base_ files).
# Subsets of RAF-DB's splits; the real release has no identities (identity=False).
feature_monitor = dict(
    type='FeatureMonitorHook',
    interval=1000,
    bank=dict(type='RAFDB', data_root='data/rafdb/', split='train', indices=2000,
              pipeline=[dict(type='LoadFaceImage'), dict(type='Resize', scale=(224, 224)),
                        dict(type='PackInputs')]),
    query=dict(type='RAFDB', data_root='data/rafdb/', split='test', indices=1000,
               pipeline=[dict(type='LoadFaceImage'), dict(type='Resize', scale=(224, 224)),
                         dict(type='PackInputs')]),
    knn_k=(10, 30),
    identity=False)
