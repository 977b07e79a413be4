#!/usr/bin/env bash
# The stored sweep results the guide reads (docs/guide/results/*.db): the example sweeps
# under stridekit/examples/sweeps/, run from scratch on the CPU. About 8 minutes on 2 cores.
#   make guide-results   (or: PYTHON=.venv/bin/python bash docs/guide/results.sh [FOLDER])
set -euo pipefail
out="${1:-docs/guide/results}"
python="${PYTHON:-python}"
mkdir -p "$out"
for name in mnist-strides detail seg-output-stride plans detection-strides; do
    rm -f "$out/$name.db" "$out/$name.db-wal" "$out/$name.db-shm" "$out/$name.db.lock"
    "$python" -m stridekit sweep "stridekit/examples/sweeps/$name.yaml" --store "$out/$name.db" \
        --workers 2 --device cpu --no-progress
    rm -f "$out/$name.db.lock"
done
