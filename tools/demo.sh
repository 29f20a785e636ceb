#!/usr/bin/env bash
# `make demo`: the SSL study's CPU preset (tools/misc/run_demo.py -> mmfer.apis.ssl_study):
# synthetic faces -> random init, supervised, BYOL, ContraWarping, SimSiam, SSL-FER x 3 seeds
# -> k-NN / linear / identity / rank -> work_dirs/demo/report.md.
# Extra arguments go to tools/misc/run_demo.py (e.g. --seeds 0 for a quicker run).
# Torch threads: from the CPUs, the dataloader workers and the load of other jobs
# (mmfer.utils.setup_torch_threads); set OMP_NUM_THREADS to override.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
exec "$PY" tools/misc/run_demo.py "$@"
