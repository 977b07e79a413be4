#!/usr/bin/env bash
# The README's pictures, drawn by stridekit itself; the same bytes on every run.
#   make pictures        (or: PYTHON=.venv/bin/python bash docs/pictures.sh [FOLDER])
set -euo pipefail
out="${1:-docs/pictures}"
python="${PYTHON:-python}"
case "$python" in */*) python="$(cd "$(dirname "$python")" && pwd)/$(basename "$python")" ;; esac
export OMP_NUM_THREADS=1  # the effective field's gradient summed in one order
mkdir -p "$out"
viz() { "$python" -m stridekit viz "$@" >/dev/null; }

viz conv --size 5x5 --kernel 3 --stride 2 --padding 1 --fps 1.5 -o "$out/conv.gif"
viz conv --size 7x7 --kernel 3 --stride 2 --dilation 2 --padding 1 -o "$out/conv_dilated.svg"
viz coverage --size 8x8 --kernel 3 --stride 2 --padding 1 --op conv_transpose \
    -o "$out/coverage_transposed.png"
viz coverage --model torchvision:resnet18 --input 1x3x64x64 --layers 2 \
    -o "$out/coverage_resnet18_stem.png"
viz field torchvision:resnet18 --input 1x3x224x224 --layer layer2 -o "$out/field_resnet18.png"
# the network diagram as a user draws it (the README's command): from a copy of the examples,
# so its title names examples/specs/fpn_small.yaml wherever stridekit is installed
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
"$python" -m stridekit examples --copy "$scratch/examples" >/dev/null
(cd "$scratch" && viz network examples/specs/fpn_small.yaml -o network_fpn.svg)
mv "$scratch/network_fpn.svg" "$out/network_fpn.svg"

# the stride guide's summary plot (page 6), from the stored example sweeps
"$python" docs/guide/figures/quality_vs_output_stride.py >"$out/quality_vs_output_stride.svg.tmp"
mv "$out/quality_vs_output_stride.svg.tmp" "$out/quality_vs_output_stride.svg"
