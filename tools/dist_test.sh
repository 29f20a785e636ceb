#!/usr/bin/env bash
# Multi-process evaluation with torchrun: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
#   e.g. tools/dist_test.sh configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb.py ckpt.pth 8
#   (features are extracted in shards and gathered on rank 0, which computes the metrics)
# Multi-node: NNODES=2 NODE_RANK=0|1 MASTER_ADDR=<node0 ip> PORT=29500 tools/dist_test.sh ...
# On a machine without GPUs, GPUS is the number of CPU processes (gloo backend).
set -e
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
cd "$(dirname "$0")/.."
PYTHONPATH="$(pwd)":${PYTHONPATH:-} \
$PYTHON -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    tools/test.py \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
