# Copyright (c) mmfer contributors. All rights reserved.
"""README.md's shell commands work as written: every command of its fenced ``bash`` blocks
is either run here (on CPU, shrunk, on synthetic data this test writes) or listed in
:data:`SKIP` with the reason it cannot run here. A new or edited README command that is in
neither table fails :func:`test_every_readme_command_is_classified`, so the README cannot
drift silently.

Three checks:

- :func:`test_every_readme_command_is_classified` (fast): README commands == RUN + SKIP keys.
- :func:`test_readme_commands_name_existing_files_and_flags` (fast): for *every* command,
  also the skipped ones, the script and every ``configs/...`` path exist and every
  ``--flag`` is defined by the script (``tools/dist_*.sh`` pass their flags to
  ``tools/train.py`` / ``tools/test.py``); ``make`` targets exist in the Makefile.
- :func:`test_readme_command_runs` (slow): the :data:`RUN` commands, in README order, in one
  sandbox folder with ``tools/``, ``configs/`` and ``benchmarks/`` linked in (so ``data/``
  and ``work_dirs/`` are the sandbox's), each shrunk as its entry says (fewer images and
  iterations, no data-loader workers, 2 CPU processes instead of 8 GPUs). Placeholders
  (``CKPT``, ``CONFIG``, ``work_dirs/RUN``) become files earlier commands wrote, or
  checkpoints of randomly initialised models this test writes (they test that the commands
  run, not what they score).

Every ``python ...`` command runs in its own process, forked from one interpreter that has
imported torch / mmengine / mmpretrain / mmpose / mmfer once (the script runs as
``__main__`` with its argv, cwd and environment, as ``python script.py`` would), which
saves ~6 s of CPU per command; shell scripts (``tools/dist_*.sh``) run as subprocesses.

Updating this file when README changes: the failure message lists the README commands
missing from the tables and the table keys missing from README; move the entry (keys are
the README command with line continuations joined, the trailing comment removed and
spaces collapsed).
"""
import json
import os
import os.path as osp
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
README = osp.join(REPO, 'README.md')

ABAW_EXPR = 'configs/abaw5/abaw5_resnet50-spatialflatten_1xb128-sgd-coslr-8k_affwild2-expr.py'
FINETUNE = 'configs/contrawarp/benchmarks/resnet18_1xb64-coslr-40e_rafdb.py'
FINETUNE_RUN = 'work_dirs/resnet18_1xb64-coslr-40e_rafdb'


# ---------------------------------------------------------------------------- README parsing
def readme_commands(text: Optional[str] = None) -> List[str]:
    """The commands of README's fenced bash/sh blocks, normalised: line continuations joined,
    whole-line and trailing ``#`` comments dropped, runs of spaces collapsed."""
    text = open(README, encoding='utf-8').read() if text is None else text
    commands = []
    for block in re.findall(r'^```(?:bash|sh|shell)[ \t]*\n(.*?)^```', text, flags=re.M | re.S):
        block = re.sub(r'\\\n', ' ', block)
        for line in block.splitlines():
            line = re.sub(r'(^|\s)#.*$', '', line).strip()
            if line:
                commands.append(re.sub(r'\s+', ' ', line))
    return commands


# ---------------------------------------------------------------------------- the two tables
#: README commands that cannot run here, with the reason (their files and flags are still
#: checked by test_readme_commands_name_existing_files_and_flags).
TOY = 'configs/demo/resnet18_1xb32-adamw-coslr-600it_rafdb-synthetic64_toy.py'
TOYCK = 'work_dirs/resnet18_1xb32-adamw-coslr-600it_rafdb-synthetic64_toy/iter_600.pth'

SKIP: Dict[str, str] = {
    'make install': 'builds .venv with the 5.5 GB CUDA torch from the registries; CI runs it',
    'pip install -r requirements/mminstall.txt': 'installs packages (make install does)',
    'pip install --no-deps mmpose==1.1.0': 'installs packages (make install does)',
    'pip install json_tricks munkres scipy six cython': 'installs packages (make install does)',
    'pip install --no-deps --no-build-isolation --no-binary xtcocotools xtcocotools==1.14.3':
        'installs packages (make install does)',
    'pip install -e .': 'installs packages (make install does)',
    'pip install -e .[deploy]': 'installs packages (make install does)',
    'make demo': 'runs make install first; its driver runs shrunk in '
                 'tests/test_tools/test_run_demo.py',
    'make test': 'is this test suite',
    'python tools/misc/ssl_benchmark.py --preset gpu':
        'the study on one GPU (~10 min there, hours here); tests/test_apis/test_ssl_study.py '
        'runs the study end to end on its tiny preset and builds the gpu preset\'s configs',
    'python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT|auto]] [--amp] [--cfg-options '
    'key=value ...] [--launcher none|pytorch|slurm]':
        'a synopsis (placeholders, optional parts); tools/train.py runs in the commands below',
    'tools/dist_train.sh CONFIG 8 [train.py args]': 'a synopsis for 8 GPUs; the CPU torchrun '
        'path runs below (dist_train.sh with 2 processes)',
    'NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 tools/dist_train.sh CONFIG 8':
        'two nodes',
    'NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 PORT=29500 tools/dist_train.sh CONFIG 8':
        'two nodes',
    'GPUS=16 tools/slurm_train.sh PARTITION JOB CONFIG WORK_DIR': 'needs a Slurm cluster',
    'python tools/landmarks/extract_landmarks.py data/faces_emore/train.rec --aligned --out '
    'data/faces_emore/landmarks.npz --checkpoint hrnetv2_w18_300w_256x256-eea53406_20211019.pth '
    '--device cuda:0 --batch-size 64 [--resume]':
        "mmpose's HRNet checkpoint (not downloadable here) and a GPU; the tool runs in "
        'tests/test_tools/test_extract_landmarks.py',
    'tools/dist_train.sh $CFG 8 --cfg-options train_dataloader.batch_size=16':
        '8 GPUs with a ResNet-50 at 224 px; the same config trains below on one CPU process',
    'python tools/model_converters/abaw5_to_mmfer.py abaw5_res50.pth abaw5_res50_mmfer.pth '
    f'--config {ABAW_EXPR}':
        "the ABAW5 authors' released checkpoint; tests/test_utils/"
        'test_checkpoint_converters.py converts one in its format',
    'python tools/model_converters/sslfer_to_mmfer.py checkpoint_best.pth.tar sslfer_mmfer.pth':
        "SSL-FER's released checkpoint; tests/test_utils/test_checkpoint_converters.py "
        'converts one in its format',
    # the toy model and the demos: training it takes ~7.5 min on 2 cores, so the demos run
    # in tests/test_tools/test_demos.py on a 30-iteration toy checkpoint instead
    'python tools/misc/make_synthetic_faces.py data/demo_cls --format rafdb --num 2400 '
    '--image-size 64': 'the toy model\'s data; the same writer runs above (--format rafdb)',
    f'python tools/train.py {TOY}': 'the toy model, ~7.5 min on 2 cores; tests/test_tools/'
        'test_demos.py trains it for 30 iterations',
    'python -c "from skimage import data; import cv2; cv2.imwrite(\'astronaut.png\', '
    'data.astronaut()[..., ::-1])"': 'writes the photo tests/test_tools/test_demos.py uses',
    f'python demo/image_demo.py astronaut.png {TOY} {TOYCK} --out astronaut_pred.png --csv '
    'astronaut_pred.csv': 'needs the 600-iteration toy model; tests/test_tools/test_demos.py '
        'runs it on the astronaut photo with a 30-iteration one',
    'python demo/image_demo.py IMG CONFIG CKPT --out out.png [--csv out.csv] [--detector '
    'dlib|mtcnn|none] [--det-thr 0.5] [--template rafdb_100] [--max-faces N] [--topk 3] '
    '[--show]': 'a synopsis; tests/test_tools/test_demos.py runs the demo',
    'python demo/video_demo.py VIDEO CONFIG CKPT --out out.mp4 --csv out.csv [--smooth median '
    '--window 9]': 'a synopsis; tests/test_tools/test_demos.py runs the demo',
    'python demo/video_demo.py --webcam 0 CONFIG CKPT --show [--out webcam.mp4]':
        'needs a camera and a display',
    'python -c "import cv2; from mmfer.datasets.synthetic import SyntheticFaceGenerator as G; '
    'w = cv2.VideoWriter(\'clip.mp4\', cv2.VideoWriter_fourcc(*\'mp4v\'), 25, (112, 112)); '
    '[w.write(f[\'img\']) for f in G(112, seed=0).render_video(identity=2, num_frames=50, '
    'seed=3)]; w.release()"': 'writes the clip; tests/test_tools/test_demos.py writes its own',
    f'python demo/video_demo.py clip.mp4 {TOY} {TOYCK} --out clip_pred.mp4 --csv clip_pred.csv '
    '--smooth median --window 9 --det-thr 0': 'needs the 600-iteration toy model; '
        'tests/test_tools/test_demos.py runs it on a synthetic clip with a 30-iteration one',
    'python tools/abaw5/predict.py $CFG work_dirs/abaw5/iter_8000.pth --split test '
    '--frame-list CVPR_5th_ABAW_EXPR_test_set_sample.txt --out predictions_test/':
        "the challenge's test-set frame list; tests/test_tools/test_abaw5_predict.py runs "
        'this mode on a list it writes',
    'python tools/analysis_tools/extract_features.py configs/contrawarp/benchmarks/'
    'resnet18_knn-linear_rafdb.py CKPT --data test_dataloader --out work_dirs/feats/'
    'rafdb_test.npz': 'tests/test_tools/test_extract_features.py runs it (same config, '
        'synthetic RAF-DB)',
    'python tools/analysis_tools/extract_features.py CONFIG CKPT --data my_photos/ --out '
    'photos.npz --label-from-folder': 'a synopsis; tests/test_tools/test_extract_features.py '
        'exports a photo folder labelled by folder',
    'python tools/analysis_tools/visualize_embedding.py work_dirs/feats/rafdb_test.npz --method '
    'tsne --color-by label identity --out work_dirs/feats/rafdb_tsne.png':
        'tests/test_tools/test_extract_features.py plots an export',
    'python tools/test.py CONFIG CKPT --dump preds.pth': 'a synopsis; tests/test_tools/'
        'test_analyze_results.py dumps the toy model\'s predictions',
    'python tools/analysis_tools/analyze_results.py preds.pth --out-dir analysis --topk 24':
        'tests/test_tools/test_analyze_results.py analyses a dump',
}


def _loaders(*names: str, batch_size: Optional[int] = None) -> List[str]:
    """``--cfg-options`` values: no workers (and the given batch size) for these loaders."""
    opts = []
    for name in names:
        opts += [f'{name}.num_workers=0', f'{name}.persistent_workers=False']
        if batch_size:
            opts.append(f'{name}.batch_size={batch_size}')
    return opts


@dataclass
class Run:
    """How a README command runs here.

    Attributes:
        subs: literal replacements in the command (shrinking, placeholders).
        extra: arguments appended (``--cfg-options`` accumulates with an earlier one).
        sandbox: the folder it runs in (commands of one README block that need a fresh
            ``data/`` get their own).
        setup: writes what the command reads and no README command writes (a checkpoint of
            a randomly initialised model, photos, a video); called with the sandbox path.
        outputs: files (sandbox-relative) the command must have written.
        broken: why the command fails today (a known bug): the test is a strict xfail, so
            it reports the fix (XPASS fails) and the entry must then be cleared.
    """
    subs: Tuple[Tuple[str, str], ...] = ()
    extra: Tuple[str, ...] = ()
    sandbox: str = 'main'
    setup: Optional[Callable[[str], None]] = None
    outputs: Tuple[str, ...] = ()
    env: Dict[str, str] = field(default_factory=dict)
    broken: str = ''


def _save_model(cfg_path: str, out: str, keep: Callable[[str], bool] = lambda k: True) -> None:
    import torch
    from mmengine.config import Config
    from mmfer.registry import MODELS
    from mmfer.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(osp.join(REPO, cfg_path))
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(cfg.model)
    os.makedirs(osp.dirname(out), exist_ok=True)
    torch.save({'state_dict': {k: v for k, v in model.state_dict().items() if keep(k)}}, out)


def _r18_checkpoint(sandbox: str) -> None:
    # a randomly initialised ResNet-18 feature model (the role of a pre-trained checkpoint)
    _save_model('configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb.py',
                osp.join(sandbox, 'checkpoints', 'r18.pth'))


def _r50_contrawarp_checkpoint(sandbox: str) -> None:
    # the ContraWarping ResNet-50 checkpoint the ABAW5 command starts from (random weights)
    _save_model(ABAW_EXPR, osp.join(sandbox, 'work_dirs',
                                    'contrawarp-byol_resnet50_8xb512-lars-coslr-50e_ms1m',
                                    'epoch_50.pth'), keep=lambda k: k.startswith('backbone.'))


def _raw_faces(sandbox: str) -> None:
    # photos with a face somewhere in a larger picture (what align_faces.py is for)
    import cv2
    import numpy as np
    from mmfer.datasets.synthetic import SyntheticFaceGenerator
    gen = SyntheticFaceGenerator(112, seed=3)
    os.makedirs(osp.join(sandbox, 'data', 'raw_faces'), exist_ok=True)
    for i in range(3):
        canvas = np.full((240, 320, 3), 90 + 40 * i, np.uint8)
        canvas[40 + 10 * i:152 + 10 * i, 60 + 30 * i:172 + 30 * i] = gen.render(identity=i)['img']
        cv2.imwrite(osp.join(sandbox, 'data', 'raw_faces', f'photo{i}.jpg'), canvas)


def _videos(sandbox: str) -> None:
    # one short talking-face video per identity (VoxCeleb's vox1/videos/<id>/<video>.mp4)
    import cv2
    from mmfer.datasets.synthetic import SyntheticFaceGenerator
    gen = SyntheticFaceGenerator(112, seed=4)
    for ident in range(2):
        folder = osp.join(sandbox, 'vox1', 'videos', f'id{ident:05d}')
        os.makedirs(folder, exist_ok=True)
        writer = cv2.VideoWriter(osp.join(folder, 'clip.mp4'), cv2.VideoWriter_fourcc(*'mp4v'),
                                 25, (112, 112))
        for frame in gen.render_video(identity=ident, num_frames=8, seed=ident):
            writer.write(frame['img'])
        writer.release()


def _face_png(sandbox: str) -> None:
    import cv2
    from mmfer.datasets.synthetic import SyntheticFaceGenerator
    cv2.imwrite(osp.join(sandbox, 'face.png'),
                SyntheticFaceGenerator(112, seed=5).render(identity=1)['img'])


_ABAW_SHRINK = ('--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
                'param_scheduler.T_max=2', 'default_hooks.checkpoint.interval=2',
                *_loaders('train_dataloader', 'val_dataloader', 'test_dataloader',
                          batch_size=2))
_KNN_SHRINK = ('--cfg-options', *_loaders('test_dataloader', 'test_cfg.bank_dataloader'))
_EPOCH_SHRINK = ('train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                 *_loaders('train_dataloader', 'val_dataloader', 'test_dataloader',
                           batch_size=8))
_R18 = ('CKPT', 'checkpoints/r18.pth')
_FINETUNED = ('CKPT', f'{FINETUNE_RUN}/epoch_1.pth')

#: README commands run here: the command (as :func:`readme_commands` normalises it) -> how.
RUN: Dict[str, Run] = {
    'python tools/misc/make_synthetic_faces.py data --format all --num 500':
        # 40 faces per layout: RAF-DB's bank then holds 3 people, which the linear probe's
        # person-grouped validation split needs
        Run(subs=(('--num 500', '--num 40'), ), extra=('--no-progress', ),
            outputs=('data/rafdb/EmoLabel/list_patition_label.txt', 'data/fec/images',
                     'data/affwild2/cropped_aligned', 'data/faces_emore/train.rec',
                     'data/bp4d/AUCoding')),
    'python tools/dataset_converters/bp4d.py data/bp4d/AUCoding data/bp4d/lists --img-root '
    'data/bp4d/aligned':
        Run(outputs=('data/bp4d/lists', )),
    'python tools/misc/make_synthetic_faces.py data/ssl_study/cpu/pretrain --format folder '
    '--num 3000 --num-identities 1500 --image-size 48 --seed 0':
        # `--format all` above already wrote data/synthetic_faces: this block runs on its own
        Run(subs=(('--num 3000 --num-identities 1500', '--num 24 --num-identities 12'), ),
            extra=('--no-progress', ), sandbox='synthetic',
            outputs=('data/ssl_study/cpu/pretrain/landmarks.npz', )),
    'python tools/misc/make_synthetic_faces.py data/ssl_study/cpu/rafdb --format rafdb --num 3000 '
    '--num-identities 600 --image-size 48 --seed 1000':
        Run(subs=(('--num 3000 --num-identities 600', '--num 40 --num-identities 10'), ),
            extra=('--no-progress', ), sandbox='synthetic',
            outputs=('data/ssl_study/cpu/rafdb/EmoLabel/list_patition_label.txt', )),
    'python tools/misc/show_synthetic_faces.py --out work_dirs/synthetic_grid.png --num 32':
        Run(subs=(('--num 32', '--num 8'), ), sandbox='synthetic',
            outputs=('work_dirs/synthetic_grid.png', )),
    'python tools/misc/synthetic_supervised_baseline.py --out work_dirs/baseline.json':
        Run(extra=('--num', '60', '--num-identities', '12', '--iters', '2', '--batch-size', '8',
                   '--image-size', '32'), sandbox='synthetic',
            outputs=('work_dirs/baseline.json', )),
    'python tools/misc/make_synthetic_faces.py data/synthetic_faces --format folder --num 200 '
    '--image-size 64':
        Run(subs=(('--num 200', '--num 16'), ), extra=('--no-progress', ), sandbox='views',
            outputs=('data/synthetic_faces/landmarks.npz', )),
    'python tools/visualize/show_views.py configs/ssl_study/contrawarp-byol_resnet18-w16_1xb64-'
    'sgd-coslr_synthetic48_rw-landmark-ld.py --num 8 --out views.png --cfg-options '
    'train_dataloader.dataset.data_root=data/synthetic_faces':
        Run(subs=(('--num 8', '--num 2'), ), sandbox='views', outputs=('views.png', )),
    'tools/dist_train.sh configs/contrawarp/'
    'contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py 8':
        # the paper's main config on 2 CPU processes (gloo, SyncBN as BN), 4 faces, 1 epoch
        Run(subs=(('_ms1m.py 8', '_ms1m.py 2'), ),
            extra=('--cfg-options', 'train_cfg.max_epochs=1',
                   'train_dataloader.dataset.indices=4',
                   *_loaders('train_dataloader', batch_size=2)),
            outputs=('work_dirs/contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m/'
                     'epoch_1.pth', )),
    'python tools/test.py configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb.py CKPT':
        Run(subs=(_R18, ), extra=_KNN_SHRINK, setup=_r18_checkpoint,
            outputs=('work_dirs/resnet18_knn-linear_rafdb/metrics.json', )),
    'python tools/test.py configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb.py CKPT '
    '--eval knn --knn-k 10 30 200':
        Run(subs=(_R18, ), extra=_KNN_SHRINK,
            outputs=('work_dirs/resnet18_knn-linear_rafdb/metrics.json', )),
    'python tools/test.py configs/contrawarp/benchmarks/resnet18_fec.py CKPT':
        Run(subs=(_R18, ), extra=('--cfg-options', *_loaders('test_dataloader')),
            outputs=('work_dirs/resnet18_fec/metrics.json', )),
    'tools/dist_test.sh configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb.py CKPT 8':
        Run(subs=(_R18, ('r18.pth 8', 'r18.pth 2')), extra=_KNN_SHRINK,
            outputs=('work_dirs/resnet18_knn-linear_rafdb/metrics.json', )),
    'python tools/train.py configs/contrawarp/benchmarks/resnet18_1xb64-linear-coslr-100e_rafdb.py '
    '--cfg-options load_from=CKPT':
        Run(subs=(_R18, ), extra=_EPOCH_SHRINK,
            outputs=('work_dirs/resnet18_1xb64-linear-coslr-100e_rafdb/epoch_1.pth', )),
    f'python tools/train.py {FINETUNE} --cfg-options load_from=CKPT':
        Run(subs=(_R18, ), extra=_EPOCH_SHRINK, outputs=(f'{FINETUNE_RUN}/epoch_1.pth', )),
    'python tools/train.py configs/contrawarp/benchmarks/resnet18_1xb32-triplet-coslr-20e_fec.py '
    '--cfg-options load_from=CKPT':
        Run(subs=(_R18, ), extra=_EPOCH_SHRINK,
            outputs=('work_dirs/resnet18_1xb32-triplet-coslr-20e_fec/epoch_1.pth', )),
    f'python tools/test.py {FINETUNE} {FINETUNE_RUN}/epoch_40.pth':
        Run(subs=(('epoch_40.pth', 'epoch_1.pth'), ),
            extra=('--cfg-options', *_loaders('test_dataloader')),
            outputs=(f'{FINETUNE_RUN}/metrics.json', )),
    f'CFG={ABAW_EXPR}': Run(),  # a variable for the next commands
    'python tools/train.py $CFG --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/'
    'contrawarp-byol_resnet50_8xb512-lars-coslr-50e_ms1m/epoch_50.pth':
        Run(extra=_ABAW_SHRINK, setup=_r50_contrawarp_checkpoint, outputs=(
            'work_dirs/abaw5_resnet50-spatialflatten_1xb128-sgd-coslr-8k_affwild2-expr/'
            'iter_2.pth', )),
    'python tools/train.py configs/abaw5/abaw5_resnet50-spatialflatten_1xb128-sgd-coslr-8k_'
    'affwild2-va.py':
        Run(extra=_ABAW_SHRINK, outputs=(
            'work_dirs/abaw5_resnet50-spatialflatten_1xb128-sgd-coslr-8k_affwild2-va/'
            'iter_2.pth', )),
    'python tools/train.py configs/abaw5/abaw5_resnet50-spatialflatten_1xb128-sgd-coslr-8k_'
    'affwild2-au.py':
        Run(extra=_ABAW_SHRINK, outputs=(
            'work_dirs/abaw5_resnet50-spatialflatten_1xb128-sgd-coslr-8k_affwild2-au/'
            'iter_2.pth', )),
    'python tools/abaw5/predict.py $CFG work_dirs/abaw5_resnet50-spatialflatten_1xb128-sgd-'
    'coslr-8k_affwild2-expr/iter_8000.pth --split val --out predictions/ --smooth median '
    '--window 9':
        Run(subs=(('iter_8000.pth', 'iter_2.pth'), ),
            extra=('--batch-size', '4', '--num-workers', '0'),
            outputs=('predictions/median_w9/submission.txt', 'predictions/none/submission.txt')),
    'python tools/dataset_converters/align_faces.py data/raw_faces data/aligned --template '
    'rafdb_100':
        Run(extra=('--no-progress', ), sandbox='align', setup=_raw_faces,
            outputs=('data/aligned/faces.csv', 'data/aligned/photo0.jpg')),
    'python tools/dataset_converters/align_faces.py vox1/videos data/voxceleb/frames --videos '
    '--fps 25 --select largest --detector mtcnn':
        Run(extra=('--no-progress', ), sandbox='align', setup=_videos,
            outputs=('data/voxceleb/frames/faces.csv',
                     'data/voxceleb/frames/id00000/clip/00001.jpg')),
    'python tools/deployment/pytorch2onnx.py CONFIG --checkpoint CKPT --out model.onnx --verify':
        Run(subs=(('CONFIG', FINETUNE), _FINETUNED), outputs=('model.onnx', )),
    'python tools/deployment/pytorch2torchscript.py CONFIG --checkpoint CKPT --out model.pt '
    '--part features --verify':
        Run(subs=(('CONFIG', FINETUNE), _FINETUNED), outputs=('model.pt', )),
    'python tools/analysis_tools/get_flops.py CONFIG [--shape 224] [--part features]':
        Run(subs=(('CONFIG', ABAW_EXPR), ('[', ''), (']', ''))),
    'python tools/analysis_tools/analyze_logs.py plot_curve work_dirs/RUN --keys loss lr --out '
    'loss.png':
        Run(subs=(('work_dirs/RUN', FINETUNE_RUN), ), outputs=('loss.png', )),
    'python tools/analysis_tools/analyze_logs.py plot_curve work_dirs/RUN --val --keys '
    'fer/macro_f1 --out f1.png':
        Run(subs=(('work_dirs/RUN', FINETUNE_RUN), ), outputs=('f1.png', )),
    'python tools/analysis_tools/analyze_logs.py cal_train_time work_dirs/RUN':
        Run(subs=(('work_dirs/RUN', FINETUNE_RUN), )),
    'python tools/analysis_tools/vis_cam.py face.png CONFIG --checkpoint CKPT --out cam.png':
        Run(subs=(('CONFIG', FINETUNE), _FINETUNED), setup=_face_png, outputs=('cam.png', )),
}


# ------------------------------------------------------------------------------ fast checks
def test_every_readme_command_is_classified():
    commands = readme_commands()
    assert commands, 'no fenced bash block found in README.md'
    both = set(RUN) & set(SKIP)
    unknown = [c for c in commands if c not in RUN and c not in SKIP]
    stale = [c for c in list(RUN) + list(SKIP) if c not in commands]
    assert not both, f'in RUN and in SKIP: {both}'
    assert not unknown and not stale, (
        'README.md commands and tests/test_docs/test_readme_commands.py disagree.\n'
        'README commands in neither RUN nor SKIP (run them here, shrunk, or skip them with '
        'the reason):\n  ' + '\n  '.join(unknown) +
        '\nRUN/SKIP entries no README command matches (the command changed or went):\n  ' +
        '\n  '.join(stale))


def test_readme_parsing():
    text = ('x\n```bash\n# comment\npython a.py --x 1 \\\n    --y 2   # why\n\nmake z\n```\n'
            '```python\nprint(1)\n```\n')
    assert readme_commands(text) == ['python a.py --x 1 --y 2', 'make z']


def _script_of(tokens: List[str]) -> Optional[str]:
    """The repo file a command runs (train.py / test.py for tools/dist_*.sh)."""
    for tok in tokens:
        if tok.endswith(('.py', '.sh')) and tok.startswith(('tools/', 'benchmarks/', 'demo/')):
            return {'tools/dist_train.sh': 'tools/train.py',
                    'tools/dist_test.sh': 'tools/test.py'}.get(tok, tok)
    return None


#: Thin CLIs whose argument parser lives in the package.
_PARSER_MODULES = {
    'tools/misc/ssl_benchmark.py': ('mmfer/apis/ssl_study/cli.py', ),
    'tools/misc/run_demo.py': ('mmfer/apis/ssl_study/cli.py', ),
}


def test_readme_commands_name_existing_files_and_flags():
    makefile = open(osp.join(REPO, 'Makefile')).read()
    variables: Dict[str, str] = {}
    problems = []
    for cmd in readme_commands():
        assignment = re.fullmatch(r'([A-Z_]+)=(\S+)', cmd)
        if assignment:
            variables[assignment.group(1)] = assignment.group(2)
        for name, value in variables.items():
            cmd = cmd.replace(f'${name}', value)
        tokens = [t.strip('[]') for t in cmd.split()]
        if tokens[0] == 'make':
            if not re.search(rf'^{re.escape(tokens[1])}:', makefile, flags=re.M):
                problems.append(f'{cmd}: no target {tokens[1]!r} in the Makefile')
            continue
        for tok in tokens:
            path = tok.split('=', 1)[-1]
            if path.startswith(('configs/', 'tools/', 'benchmarks/', 'requirements/', 'demo/')) and \
                    not osp.exists(osp.join(REPO, path)):
                problems.append(f'{cmd}: {path} does not exist')
        script = _script_of(tokens)
        if script is None or not osp.isfile(osp.join(REPO, script)):
            continue
        source = open(osp.join(REPO, script)).read()
        for module in _PARSER_MODULES.get(script, ()):  # thin CLIs: the parser is in mmfer
            source += open(osp.join(REPO, module)).read()
        for flag in re.findall(r'(?<![\w-])(--[a-z][a-z0-9-]*)', cmd):
            if f"'{flag}'" not in source and f'"{flag}"' not in source:
                problems.append(f'{cmd}: {script} has no option {flag}')
    assert not problems, '\n'.join(problems)


# ------------------------------------------------------------------------------ running them
_DRIVER = r'''
import atexit, json, os, runpy, sys, traceback
import matplotlib
matplotlib.use('Agg')
import torch, mmengine, mmpretrain, mmpose  # noqa: F401  the heavy imports, once
import mmfer, mmfer.apis, mmfer.engine, mmfer.evaluation, mmfer.models  # noqa: F401
print(json.dumps({'ready': True}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.chdir(job['cwd'])
            os.environ.update(job['env'])
            fd = os.open(job['log'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.argv = job['argv']
            sys.path[0] = os.path.dirname(os.path.abspath(job['argv'][0]))
            try:
                runpy.run_path(job['argv'][0], run_name='__main__')
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                if isinstance(e.code, str):
                    print(e.code, file=sys.stderr)
            except BaseException:
                traceback.print_exc()
            atexit._run_exitfuncs()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    print(json.dumps({'pid': pid}), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({'rc': os.waitstatus_to_exitcode(status)}), flush=True)
'''


class _Zygote:
    """A warm interpreter that forks one process per ``python`` command."""

    def __init__(self, env: Dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, '-c', _DRIVER], cwd=REPO, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._read(600) == {'ready': True}

    def _read(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError
        line = self.proc.stdout.readline()
        assert line, 'the command driver died'
        return json.loads(line)

    def run(self, argv: List[str], cwd: str, env: Dict[str, str], log: str,
            timeout: float) -> int:
        self.proc.stdin.write(json.dumps(dict(argv=argv, cwd=cwd, env=env, log=log)) + '\n')
        self.proc.stdin.flush()
        pid = self._read(60)['pid']
        try:
            return self._read(timeout)['rc']
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            self._read(60)
            return -9

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture(scope='module')
def sandboxes(tmp_path_factory, free_port_factory):
    root = tmp_path_factory.mktemp('readme')
    env = dict(os.environ, OMP_NUM_THREADS='1', MPLBACKEND='Agg', PYTHON=sys.executable,
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    env.pop('MMFER_DEBUG', None)
    state = dict(root=str(root), env=env, vars={}, zygote=_Zygote(env), made=set())
    yield state
    state['zygote'].close()


@pytest.fixture(scope='module')
def free_port_factory():
    import socket

    def make() -> int:
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            return s.getsockname()[1]

    return make


def _sandbox(state: dict, name: str) -> str:
    path = osp.join(state['root'], name)
    if name not in state['made']:
        os.makedirs(path)
        for entry in ('tools', 'configs', 'benchmarks', 'Makefile'):
            os.symlink(osp.join(REPO, entry), osp.join(path, entry))
        state['made'].add(name)
    return path


def _runnable() -> list:
    return [pytest.param(c, id=c[:90], marks=[pytest.mark.xfail(strict=True,
                                                                reason=RUN[c].broken)]
                         if RUN[c].broken else []) for c in readme_commands() if c in RUN]


@pytest.mark.slow  # ~30 README commands, each a (shrunk) training, evaluation or tool run
@pytest.mark.parametrize('command', _runnable())
def test_readme_command_runs(command, sandboxes, free_port_factory):
    spec = RUN[command]
    state = sandboxes
    cwd = _sandbox(state, spec.sandbox)
    assignment = re.fullmatch(r'([A-Z_]+)=(\S+)', command)
    if assignment:  # CFG=...: used by the following commands
        state['vars'][assignment.group(1)] = assignment.group(2)
        return
    if spec.setup is not None:
        spec.setup(cwd)
    cmd = command
    for old, new in spec.subs:
        assert old in cmd, f'substitution {old!r} no longer applies to {command!r}'
        cmd = cmd.replace(old, new)
    for name, value in state['vars'].items():
        cmd = cmd.replace(f'${name}', value)
    tokens = shlex.split(cmd) + list(spec.extra)
    env = dict(spec.env)
    while re.fullmatch(r'[A-Z_]+=\S*', tokens[0]):  # VAR=value prefixes
        key, value = tokens.pop(0).split('=', 1)
        env[key] = value
    log = osp.join(state['root'], f'{len(os.listdir(state["root"]))}.log')
    tic = time.time()
    if tokens[0] == 'python':
        rc = state['zygote'].run(tokens[1:], cwd, env, log, timeout=600)
    else:
        full_env = dict(state['env'], PORT=str(free_port_factory()), **env)
        with open(log, 'w') as f:
            rc = subprocess.run(['bash'] + tokens, cwd=cwd, env=full_env, stdout=f,
                                stderr=subprocess.STDOUT, timeout=600).returncode
    out = open(log, errors='replace').read()
    assert rc == 0, f'{cmd} (in {cwd}) exited {rc} after {time.time() - tic:.0f} s:\n' \
        f'{out[-6000:]}'
    for path in spec.outputs:
        assert osp.exists(osp.join(cwd, path)), f'{cmd} did not write {path}:\n{out[-3000:]}'
