#!/usr/bin/env bash
# The GPU check (issue 26, part 7), prepared for a machine with a CUDA GPU;
# it refuses to run without one. Every step logs to $GPU_CHECK_DIR
# (default work_dirs/gpu_check)/gpu_check.log; record its figures in
# benchmarks/RESULTS.md with the device it names.
#
#   1. the set-up with mmcv's CUDA ops, timed: tools/setup_env.sh with
#      FORCE_CUDA=1 where a registry is reachable; where none is (this
#      workplace's lent machines), the wheels benchmarks/gpu_check_prepare.sh
#      put in .whl/ (carry it) beside the machine's python3 and its torch,
#      and mmcv built from source there
#   2. mmcv's nms on CUDA, against its CPU result
#   3. one astro config (MA-Net ResNet-18, demo CIFAR) for 200 iterations
#   4. --plan of the MA-Net Tab. 11 suite on the GPU (device-hours beside
#      the paper's 0.17 / 0.07 GPU days = 4.1 / 1.7 GPU-hours)
#   5. benchmarks/pruning_speedup.py --device cuda at batch 1, 16 and 64
#   6. DETR R-18 on the demo COCO set at a GPU schedule (box AP per
#      evaluation: the curve, up to 5 AP)
#
# Sized for this workplace's lent machines (15 device-minutes a session, 10
# a command): DETR_ITERS=1500 by default, the rest short; none of it has yet
# run on a GPU, so no step's time is known.
#
# Usage: bash benchmarks/gpu_check.sh     (DETR_ITERS=..., GPU_CHECK_WHEELS=.whl)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
OUT=${GPU_CHECK_DIR:-work_dirs/gpu_check}
DETR_ITERS=${DETR_ITERS:-1500}

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

step "1. set-up with mmcv's CUDA ops"
start=$(date +%s)
WHEELS=${GPU_CHECK_WHEELS:-.whl}
if [ -d "$WHEELS" ]; then
    # A machine that reaches no registry (this workplace's lent GPUs): its
    # python3 holds torch with CUDA; the rest comes from the wheels that
    # benchmarks/gpu_check_prepare.sh put in $WHEELS, installed beside it,
    # and mmcv is built here from its source unless a wheel came along.
    PY=${GPU_CHECK_PYTHON:-python3}
    SITE=${GPU_CHECK_SITE:-/tmp/astro_mm_site}
    "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade \
        --target "$SITE" "$WHEELS"/*.whl || { echo "gpu_check: installing $WHEELS failed"; exit 1; }
    export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
    if ! ls "$WHEELS"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
        . tools/mmcv_build.sh
        mmcv_build_env "$PY"
        mmcv_build_wheel "$PY" "$OUT/mmcv_wheel" "$(ls "$WHEELS"/mmcv-2.1.0.tar.gz)" --no-index \
            && "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade \
                --target "$SITE" "$OUT"/mmcv_wheel/mmcv-2.1.0-*.whl \
            || { echo "gpu_check: building mmcv failed"; exit 1; }
    fi
    echo "setup: seconds=$(seconds_since "$start") (offline: $WHEELS into $SITE, mmcv with $("$PY" -c 'import torch; print("CUDA", torch.version.cuda)') ops)"
else
    FORCE_CUDA=1 bash tools/setup_env.sh || { echo "gpu_check: set-up failed"; exit 1; }
    echo "setup: seconds=$(seconds_since "$start") (FORCE_CUDA=1; a cached mmcv wheel makes it seconds)"
    PY=.venv/bin/python
fi
if ! "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
    echo "gpu_check: $PY's torch sees no CUDA device (a CPU wheel?);" \
        "nothing more was run." >&2
    exit 2
fi
"$PY" -c 'import mmcv, mmdet, mmpretrain, torch_pruning, astro_mm; print("stack: mmcv", mmcv.__version__, "mmdet", mmdet.__version__, "mmpretrain", mmpretrain.__version__)' \
    || { echo "gpu_check: the stack does not import"; exit 1; }
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
