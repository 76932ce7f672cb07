#!/usr/bin/env bash
# Create (or refresh) the astro_mm virtual environment in .venv.
#
# Idempotent: a stamp records the hash of every input of the set-up, so a
# second run with nothing changed returns in seconds. The mmcv wheel, whose
# build takes ~13 minutes on 2 cores with CPU ops, is cached outside the
# repo (keyed by Python, torch, and CPU ops or CUDA version + GPU
# architectures) so even a fresh clone skips the build.
#
# The stamp counts only when the key packages also import, so a damaged
# venv (a half-removed package, a broken torch) is rebuilt from scratch.
#
# Requirements: Python >= 3.11 (the pinned scipy / contourpy / networkx need
# it), and, unless the mmcv wheel is cached, a C++ compiler and the Python
# headers; each is checked up front, with what to install.
#
# Environment:
#   ASTRO_MM_CACHE  wheel cache folder (default: ~/.cache/astro_mm)
#   PYTHON          interpreter used to create the venv (default: the first
#                   of python3.11, python3.12, python3.13, python3)
#   FORCE_CUDA=1    build mmcv's CUDA ops (also chosen when torch sees a GPU);
#                   needs nvcc of torch's CUDA major version (CUDA_HOME, else
#                   /usr/local/cuda, else nvcc on PATH)
#   TORCH_CUDA_ARCH_LIST  GPU architectures of that build (default: the
#                   visible GPUs', else 9.0+PTX, the H100 / H200)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
CONSTRAINTS="$ROOT/requirements/constraints.txt"
CACHE="${ASTRO_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/astro_mm}"
STAMP="$VENV/.astro_mm_setup_stamp"

MIN_PY=3.11
# What the set-up promises; the stamp is trusted only if these import.
KEY_IMPORTS='import torch, torchvision, mmcv, mmcv.ops, mmengine, mmdet, mmpretrain, pycocotools, timm'

log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[setup %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }
pip_install() { "$PY" -m pip install --disable-pip-version-check -q -c "$CONSTRAINTS" "$@"; }

inputs_hash() {  # the CUDA choice too: FORCE_CUDA=1 on a CPU venv rebuilds
    { cat "$CONSTRAINTS" "$ROOT/pyproject.toml" "$ROOT/tools/setup_env.sh" "$ROOT/tools/mmcv_build.sh"
      echo "FORCE_CUDA=${FORCE_CUDA:-0} TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-}"; } | sha256sum | cut -d' ' -f1
}

install_fashion_mnist() {
    # Real data shipped by Debian; optional, so a failure only warns.
    [ -d /usr/share/datasets/fashion-mnist ] && return 0
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        log "installing Debian's dataset-fashion-mnist (real data for the Fashion-MNIST configs)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && \
                 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } \
            || log "WARNING: could not install dataset-fashion-mnist; Fashion-MNIST configs need /usr/share/datasets/fashion-mnist"
    else
        log "NOTE: /usr/share/datasets/fashion-mnist missing (install Debian's dataset-fashion-mnist as root to use those configs)"
    fi
}

check_python_version() {  # $1: interpreter, $2: what it is, $3: advice
    [ -n "$1" ] || die "no python3 found; astro_mm needs Python >= $MIN_PY: install python$MIN_PY, or name it with PYTHON=/path/to/python$MIN_PY"
    "$1" -c "import sys; sys.exit(sys.version_info < (${MIN_PY/./, }))" 2>/dev/null && return 0
    local have
    have="$("$1" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo unknown)"
    die "$2 $1 is Python $have; astro_mm needs Python >= $MIN_PY (the pinned scipy, contourpy and networkx do). Install python$MIN_PY and run again with PYTHON=/path/to/python$MIN_PY${3:-}"
}

check_build_tools() {  # before compiling mmcv's C++ ops
    local missing=""
    command -v "${CXX:-c++}" >/dev/null || command -v g++ >/dev/null \
        || missing="a C++ compiler (c++ / g++)"
    if ! "$PY" -c "import os, sys, sysconfig; sys.exit(not os.path.isfile(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))"; then
        missing="${missing:+$missing and }the Python headers (no Python.h in $("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])'))"
    fi
    [ -z "$missing" ] && return 0
    die "building mmcv's C++ ops needs $missing. Install them, e.g. on Debian / Ubuntu: apt-get install g++ python$MIN_PY-dev; on Fedora: dnf install gcc-c++ python$MIN_PY-devel (pyenv's Pythons include the headers)"
}

# mmcv_build_env, mmcv_build_wheel
. "$ROOT/tools/mmcv_build.sh"

install_fashion_mnist

INPUTS_HASH="$(inputs_hash)"  # before the CUDA path exports its defaults
if [ -x "$PY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$INPUTS_HASH" ]; then
    if "$PY" -c "$KEY_IMPORTS" 2>/dev/null; then
        log "environment up to date ($VENV)"
        exit 0
    fi
    log "the stamp is current but the key packages do not import (damaged venv): rebuilding $VENV"
    rm -rf "$VENV"
fi

start=$SECONDS
if [ -x "$PY" ]; then
    check_python_version "$PY" "the existing venv's" "; remove $VENV first"
else
    BASE_PY="${PYTHON:-$(command -v python$MIN_PY || command -v python3.12 || command -v python3.13 || command -v python3)}"
    check_python_version "$BASE_PY" "interpreter"
    log "creating virtual environment with $BASE_PY"
    "$BASE_PY" -m venv "$VENV"
fi
"$PY" -m pip install --disable-pip-version-check -q "pip>=23,<25" "setuptools<70" wheel

log "torch + torchvision (registry's standard build)"
t=$SECONDS
pip_install torch torchvision
log "  done in $((SECONDS - t)) s"

# mmcv 2.1.0 has no wheels for this torch: build from source with ops, once
# per key (Python, torch, and CPU ops or the CUDA version + architectures)
mmcv_build_env "$PY"
MMCV_DIR="$CACHE/wheels/mmcv-2.1.0-$PY_TAG-torch$TORCH_VER-$OPS_TAG"
if ! ls "$MMCV_DIR"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
    check_build_tools
    log "building mmcv 2.1.0 with $OPS_TAG ops (CPU ops: about 13 minutes on 2 cores; cached in $MMCV_DIR)"
    t=$SECONDS
    pip_install ninja psutil packaging
    mmcv_build_wheel "$PY" "$MMCV_DIR" "mmcv==2.1.0"  # atomic: no half-built cache
    log "  built in $((SECONDS - t)) s"
fi
# forced: a venv that had the other build (CPU ops / CUDA ops) has the same version
pip_install --force-reinstall --no-deps "$MMCV_DIR"/mmcv-2.1.0-*.whl

log "OpenMMLab stack and astro_mm (editable)"
t=$SECONDS
pip_install --no-build-isolation -e "$ROOT[tests]"
log "  done in $((SECONDS - t)) s"

"$PY" -c "$KEY_IMPORTS, astro_mm; print('stack:', 'torch', __import__('torch').__version__, 'mmcv', mmcv.__version__, 'mmdet', mmdet.__version__, 'mmpretrain', mmpretrain.__version__)"
echo "$INPUTS_HASH" > "$STAMP"
log "environment ready in $((SECONDS - start)) s ($VENV)"
