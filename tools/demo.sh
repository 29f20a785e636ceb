#!/usr/bin/env bash
# `make demo`: synthetic faces -> ContraWarping-BYOL and BYOL pre-training -> k-NN/linear -> report.
# Extra arguments go to tools/misc/run_demo.py (e.g. --iters 60 for a quicker run).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec "$PY" tools/misc/run_demo.py "$@"
