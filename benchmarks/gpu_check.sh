#!/usr/bin/env bash
# The GPU check (issue 26, part 7), prepared for a machine with a CUDA GPU;
# it refuses to run without one. Every step logs to $GPU_CHECK_DIR
# (default work_dirs/gpu_check)/gpu_check.log; record its figures in
# benchmarks/RESULTS.md with the device it names.
#
#   1. the set-up with mmcv's CUDA ops (FORCE_CUDA=1), timed
#   2. mmcv's nms on CUDA, against its CPU result
#   3. one astro config (MA-Net ResNet-18, demo CIFAR) for 200 iterations
#   4. --plan of the MA-Net Tab. 11 suite on the GPU (device-hours beside
#      the paper's 0.17 / 0.07 GPU days = 4.1 / 1.7 GPU-hours)
#   5. benchmarks/pruning_speedup.py --device cuda at batch 1, 16 and 64
#   6. DETR R-18 on the demo COCO set at a GPU schedule (box AP per
#      evaluation: the curve, up to 5 AP)
#
# Usage: bash benchmarks/gpu_check.sh     (about 1-2 hours; DETR_ITERS=...)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
OUT=${GPU_CHECK_DIR:-work_dirs/gpu_check}
DETR_ITERS=${DETR_ITERS:-6000}

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1
then
    echo "gpu_check: no CUDA GPU on this machine (nvidia-smi finds none)." \
        "This check needs one; nothing was run." >&2
    exit 2
fi
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
step() { echo; echo "== $(date +%H:%M:%S) $*"; }
seconds_since() { echo $(( $(date +%s) - $1 )); }
failed=0
run() { "$@" || { echo "gpu_check: FAILED: $*"; failed=1; }; }

nvidia-smi -L
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv

step "1. set-up with mmcv's CUDA ops (FORCE_CUDA=1)"
start=$(date +%s)
FORCE_CUDA=1 bash tools/setup_env.sh || { echo "gpu_check: set-up failed"; exit 1; }
echo "setup: seconds=$(seconds_since "$start") (FORCE_CUDA=1; a cached mmcv wheel makes it seconds)"
PY=.venv/bin/python
if ! "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
    echo "gpu_check: the venv's torch sees no CUDA device (a CPU wheel?);" \
        "nothing more was run." >&2
    exit 2
fi
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'

step "2. mmcv nms on CUDA"
run "$PY" - <<'EOF'
import torch
from mmcv.ops import nms
torch.manual_seed(0)
corner = torch.rand(1000, 2) * 100
boxes = torch.cat([corner, corner + torch.rand(1000, 2) * 30 + 1], 1)
scores = torch.rand(1000)
_, keep_cpu = nms(boxes, scores, 0.5)
_, keep_cuda = nms(boxes.cuda(), scores.cuda(), 0.5)
same = torch.equal(keep_cpu, keep_cuda.cpu())
print(f'nms_cuda: kept={keep_cuda.numel()} of 1000 same_as_cpu={int(same)}')
assert same, 'CUDA nms keeps other boxes than the CPU nms'
EOF

step "3. MA-Net ResNet-18 (demo CIFAR), 200 iterations on the GPU"
run "$PY" tools/generate_demo_data.py
start=$(date +%s)
# the demo set's 3,000 images at batch 60: 50 iterations per epoch, 4 epochs
run "$PY" tools/train.py configs/manet/manet_resnet18-cifar_1xb64-3e_demo-cifar.py \
    --work-dir "$OUT/manet_200it" --cfg-options train_dataloader.batch_size=60 \
    train_cfg.max_epochs=4 default_hooks.logger.interval=10
astro_seconds=$(seconds_since "$start")
echo "astro: seconds=$astro_seconds for 200 iterations (4 epochs x 50, with" \
    "start-up and validation); per-iteration times in" \
    "$OUT/manet_200it/*/vis_data/scalars.json"

step "4. cost plan of MA-Net Tab. 11 on the GPU"
run "$PY" tools/run_suite.py configs/suites/manet-tab11_cifar10.py --plan \
    --work-dir "$OUT/plan_tab11"
echo "paper (MA-Net Tab. 11): 0.17 GPU days (4.1 GPU-hours) for MA-Net," \
    "0.07 (1.7 GPU-hours) for the plain network, CIFAR-10 ResNet-18;" \
    "measured: $OUT/plan_tab11/plan.md"

step "5. pruning speed-up on the GPU, batch 1 / 16 / 64"
run "$PY" benchmarks/pruning_speedup.py --device cuda --batches 1 16 64 \
    --budget 0.6 --json-out "$OUT/pruning_speedup_cuda.json"
run "$PY" benchmarks/pruning_speedup.py --device cuda --batches 1 16 64 \
    --budget 0.6 --coupled --json-out "$OUT/pruning_speedup_cuda_coupled.json"

step "6. DETR R-18 on the demo COCO set, $DETR_ITERS iterations"
# the demo detectors take the demo classifier's checkpoint as backbone
if [ ! -f work_dirs/resnet18_1xb64-3e_demo-cifar/epoch_3.pth ]; then
    run "$PY" tools/train.py configs/resnet/resnet18_1xb64-3e_demo-cifar.py
fi
start=$(date +%s)
run "$PY" tools/train.py configs/detr/detr_r18_200i_demo-coco.py \
    --work-dir "$OUT/detr" --cfg-options \
    train_cfg.max_iters="$DETR_ITERS" train_cfg.val_interval=$((DETR_ITERS / 6)) \
    "param_scheduler.1.end=$DETR_ITERS" \
    "param_scheduler.1.milestones=[$((DETR_ITERS * 8 / 10))]" \
    default_hooks.checkpoint.interval=$((DETR_ITERS / 6)) \
    default_hooks.logger.interval=50
echo "detr: seconds=$(seconds_since "$start"); box AP per evaluation:"
grep -h "coco/bbox_mAP:" "$OUT"/detr/*/*.log | sed 's/.*\(coco\/bbox_mAP: [0-9.]*\).*/  \1/'

step "done (failed steps: $failed); log: $OUT/gpu_check.log"
exit $failed
