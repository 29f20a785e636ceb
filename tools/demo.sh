#!/usr/bin/env bash
# `make demo`: synthetic faces -> ContraWarping-BYOL and BYOL pre-training -> k-NN/linear -> report.
# Extra arguments go to tools/misc/run_demo.py (e.g. --iters 60 for a quicker run).
# Torch threads: tools/train.py picks them from the CPUs, the dataloader workers and the load
# of other jobs (mmfer.utils.setup_torch_threads: CPUs - workers, at most the idle CPUs, at
# least 1); set OMP_NUM_THREADS to override (benchmarks/bench_threads.py measures the choices).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
exec "$PY" tools/misc/run_demo.py "$@"
