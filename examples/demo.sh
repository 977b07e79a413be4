#!/usr/bin/env bash
# The main job of stridekit, in three commands: what a stride-2 chain does to a 224x224
# input, which pixels it drops, and which input sizes it reads completely.
set -euo pipefail

echo "## One strided conv on 224x224: a 3x3 stride-2 conv without padding drops a row and a column"
stridekit shape --size 224x224 --kernel 3 --stride 2

echo
echo "## A small stride-2 chain at 224: sizes, dropped pixels, and the valid input sizes"
stridekit sizes --input 224 --range 200:300 \
  --layer k=7,s=2,p=3 --layer k=3,s=2 --layer k=3,s=2,p=1 --layer k=3,s=2,p=1

echo
echo "## The same chain, judged only on dropped pixels (padding may be left over)"
stridekit sizes --input 224 --range 200:300 --rule no-drop \
  --layer k=7,s=2,p=3 --layer k=3,s=2 --layer k=3,s=2,p=1 --layer k=3,s=2,p=1

echo
echo "## Windows that map 224 to 112, those that read every pixel first"
stridekit solve --size 224 --output 112 --limit 5

echo
echo "## A real model: per-layer stride, receptive field and cost of ResNet-50 at 224 (meta tensors)"
stridekit analyze torchvision:resnet50 --input 1x3x224x224 --depth 1

echo
echo "## The doctor on a dilated encoder (exit status 1: findings at warning level)"
stridekit doctor stridekit/examples/specs/deeplab_encoder.yaml --select rf-holes,dropped-pixels,misaligned-merge \
  || echo "(stridekit doctor exited with status $?)"

echo
echo "## Where to put the strides of a 13-layer VGG template for classification at 224"
stridekit plan --template vgg16 --input 224 --task classification --top 3

echo
echo "## A stride experiment: strided conv vs blur-pool, one epoch each on the bundled MNIST digits"
mkdir -p build/demo
rm -f build/demo/demo.db build/demo/demo.db-wal build/demo/demo.db-shm
stridekit sweep stridekit/examples/sweeps/demo.yaml --store build/demo/demo.db
stridekit results build/demo/demo.db
stridekit report build/demo/demo.db -o build/demo/report.html
echo "(open build/demo/report.html in a browser: it needs no network)"
