# Copyright (c) mmfer contributors. All rights reserved.
"""mim support: setup.py's add_mim_extension packs configs/tools/model-index.yml into
mmfer/.mim, and model-index.yml lists every method's metafile."""
import glob
import os
import shutil
import subprocess
import sys
import tarfile

import yaml

PACKAGED = ('setup.py', 'README.md', 'MANIFEST.in', 'model-index.yml', 'requirements',
            'mmfer', 'configs', 'tools')


def test_sdist_carries_the_mim_files(tmp_path, repo_root):
    src = tmp_path / 'src'
    src.mkdir()
    for name in PACKAGED:  # build in a copy: setup.py writes mmfer/.mim next to itself
        path = os.path.join(repo_root, name)
        if os.path.isdir(path):
            shutil.copytree(path, src / name,
                            ignore=shutil.ignore_patterns('__pycache__', '.mim'))
        else:
            shutil.copy(path, src / name)
    proc = subprocess.run([sys.executable, 'setup.py', '-q', 'sdist', '-d', str(tmp_path)],
                          cwd=src, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (sdist, ) = glob.glob(str(tmp_path / 'mmfer-*.tar.gz'))
    with tarfile.open(sdist) as tar:
        names = {n.split('/', 1)[1] for n in tar.getnames() if '/' in n}
    for need in ('mmfer/.mim/model-index.yml', 'mmfer/.mim/tools/train.py',
                 'mmfer/.mim/tools/deployment/pytorch2onnx.py',
                 'mmfer/.mim/configs/_base_/default_runtime.py', 'requirements/runtime.txt',
                 'requirements/deploy.txt'):
        assert need in names, need
    configs = {n for n in names if n.startswith('mmfer/.mim/configs/') and n.endswith('.py')}
    on_disk = glob.glob(os.path.join(repo_root, 'configs', '**', '*.py'), recursive=True)
    assert len(configs) == len(on_disk)


def test_model_index_lists_existing_metafiles(repo_root):
    with open(os.path.join(repo_root, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    metafiles = sorted(os.path.relpath(p, repo_root) for p in
                       glob.glob(os.path.join(repo_root, 'configs', '*', 'metafile.yml')))
    assert sorted(imports) == metafiles, 'model-index.yml must list every configs/*/metafile.yml'
    for rel in imports:
        with open(os.path.join(repo_root, rel)) as f:
            meta = yaml.safe_load(f)
        for model in meta.get('Models', []):
            assert os.path.isfile(os.path.join(repo_root, model['Config'])), (
                f'{rel}: {model["Name"]} names a missing config {model["Config"]}')
