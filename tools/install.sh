#!/usr/bin/env bash
# Sets up the whole mmfer stack in a virtual environment (default: .venv), from the package
# registries only. Route measured on 2026-11 (x86_64, Python 3.11): see README "Install".
# Usage: tools/install.sh [VENV_DIR]      (idempotent: a finished install is detected and skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
PY=${PYTHON:-python3}
STAMP="$VENV/.mmfer-installed"
REQ_HASH=$(cat requirements/*.txt setup.py tools/install.sh | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$REQ_HASH" ]; then
  echo "[install] $VENV is up to date"; exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip wheel
echo "[install] torch + torchvision (large: ~5.5 GB, a few minutes)"
$PIP install -q "torch==${TORCH_VERSION:-2.14.1}" "torchvision==${TORCHVISION_VERSION:-0.29.1}"
echo "[install] OpenMMLab stack (mmengine, mmcv-lite, mmpretrain)"
$PIP install -q -r requirements/mminstall.txt
# mmpose 1.1.0 is installed without its declared deps: `chumpy` cannot build with modern pip
# and mmfer does not use it; newer mmpose imports mmcv.ops at import time (needs full mmcv).
$PIP install -q --no-deps mmpose==1.1.0
$PIP install -q -r requirements/runtime.txt
# xtcocotools' wheel is built against numpy 1.x; rebuild it against the installed numpy 2.
# setuptools < 81: mmpose.apis and face_recognition_models import pkg_resources (gone in 81+).
$PIP install -q cython "setuptools<81"
$PIP install -q --no-deps --no-build-isolation --no-binary xtcocotools xtcocotools==1.14.3
$PIP install -q -r requirements/tests.txt
# facenet-pytorch (MTCNN face detector; its wheel ships the P/R/O-Net weights) pins torch<2.3,
# numpy<2 and Pillow<10.3: --no-deps keeps the stack above (measured to work with it).
$PIP install -q --no-deps facenet-pytorch==2.6.0
$PIP install -q --no-deps -e .
"$VENV/bin/python" -c "import mmfer, mmpose.models, mmpretrain.models; print('[install] mmfer', mmfer.__version__, 'ready')"
echo "$REQ_HASH" > "$STAMP"
