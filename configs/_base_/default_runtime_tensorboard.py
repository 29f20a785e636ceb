# default_runtime.py + TensorBoard logging next to mmengine's local JSON logs (needs
# `pip install -e .[tensorboard]`). Use it in place of default_runtime.py in a config's _base_
# list; event files go to <work_dir>/<timestamp>/vis_data/ (`tensorboard --logdir work_dirs`).
_base_ = ['./default_runtime.py']
vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(vis_backends=vis_backends)
