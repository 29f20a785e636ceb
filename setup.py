# Copyright (c) mmfer contributors. All rights reserved.
import os
import os.path as osp
import platform
import shutil
import sys
import warnings

from setuptools import find_packages, setup


def readme() -> str:
    with open(osp.join(osp.dirname(__file__), 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version() -> str:
    scope: dict = {}
    with open(osp.join(osp.dirname(__file__), 'mmfer', 'version.py')) as f:
        exec(compile(f.read(), 'mmfer/version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> list:
    """Requirement lines of a requirements/ file, comments and blanks skipped."""
    path = osp.join(osp.dirname(__file__), 'requirements', fname)
    with open(path) as f:
        return [ln.split('#')[0].strip() for ln in f if ln.split('#')[0].strip()]


def add_mim_extension() -> None:
    """Put configs, tools and model-index.yml into ``mmfer/.mim`` (for ``mim``).

    As mmpretrain's setup.py: symlinks for an editable install (``pip install -e .``), copies
    when building an sdist or a wheel (``pip install .``); nothing for other commands.
    """
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'copy' if platform.system() == 'Windows' else 'symlink'
    elif {'sdist', 'bdist_wheel', 'build'} & set(sys.argv):
        mode = 'copy'
    else:
        return
    repo_path = osp.dirname(osp.abspath(__file__))
    mim_path = osp.join(repo_path, 'mmfer', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for filename in ('tools', 'configs', 'model-index.yml'):
        src_path = osp.join(repo_path, filename)
        tar_path = osp.join(mim_path, filename)
        if not osp.exists(src_path):
            continue
        if osp.isfile(tar_path) or osp.islink(tar_path):
            os.remove(tar_path)
        elif osp.isdir(tar_path):
            shutil.rmtree(tar_path)
        if mode == 'symlink':
            os.symlink(osp.relpath(src_path, osp.dirname(tar_path)), tar_path)
        elif osp.isfile(src_path):
            shutil.copyfile(src_path, tar_path)
        elif osp.isdir(src_path):
            shutil.copytree(src_path, tar_path,
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            warnings.warn(f'Cannot copy file {src_path}.')


add_mim_extension()
setup(
    name='mmfer',
    version=get_version(),
    description='OpenMMLab-style toolbox for self-supervised facial expression '
    'representation learning (ContraWarping, SSL-FER, EmoCo, ABAW5)',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'benchmarks')),
    include_package_data=True,
    python_requires='>=3.9',
    license='Apache License 2.0',
    # torch/torchvision are expected to be installed by the user (CUDA build of their choice);
    # mmpose must be installed with --no-deps (see README), so it is not listed here.
    install_requires=parse_requirements('runtime.txt') + ['mmengine>=0.10.0,<0.11.0',
                                                          'mmcv-lite>=2.0.0,<2.1.0',
                                                          'mmpretrain>=1.2.0,<1.3.0'],
    extras_require={
        'tests': parse_requirements('tests.txt'),
        'dlib': ['dlib-bin', 'face-recognition-models'],
        # ONNX export + onnxruntime check (tools/deployment)
        'deploy': parse_requirements('deploy.txt'),
        'tensorboard': ['tensorboard'],
        'cam': ['grad-cam'],  # tools/analysis_tools/vis_cam.py (adds only ttach)
        # UMAP in tools/analysis_tools/visualize_embedding.py (adds numba, llvmlite, pynndescent)
        'umap': ['umap-learn'],
        # facenet-pytorch (the `mtcnn` face detector) is not an extra: its wheel pins
        # torch<2.3 and numpy<2, so it is installed with --no-deps (tools/install.sh)
    },
    zip_safe=False)
