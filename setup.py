# Copyright (c) mmfer contributors. All rights reserved.
import os.path as osp

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
    },
    zip_safe=False)
