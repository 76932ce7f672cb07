#!/usr/bin/env bash
# Prepare benchmarks/gpu_check.sh for a GPU machine that reaches no package
# registry (this workplace's lent machines: nothing outside them can be
# reached; their python3 already holds torch 2.11.0+cu130, numpy, scipy,
# matplotlib, opencv, timm, scikit-image, onnx, pytest).
#
# Run here, where pip reaches PyPI. It fills .whl/ (git-ignored; name it in
# the device call's `carry`) with what that python3 lacks, at the versions
# requirements/constraints.txt pins, for the device's Python:
#
#   * the OpenMMLab stack's pure-Python wheels and their small dependencies;
#   * shapely and pycocotools, built for that Python;
#   * setuptools < 70 and mmcv 2.1.0's source, which gpu_check.sh builds
#     there with CUDA ops on the machine's cores (no wheel of mmcv 2.1.0
#     exists for torch 2.11);
#   * or, with MMCV_WHEEL=path, a CUDA mmcv wheel built here for that
#     Python instead of the source (saves the build's device minutes; it
#     must have been built for that Python and torch 2.11.0+cu130).
#
# Usage: bash benchmarks/gpu_check_prepare.sh      (GPU_PYTHON_VERSION=3.12)
# Then, on the device: bash benchmarks/gpu_check.sh  (finds .whl/ itself)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PYVER=${GPU_PYTHON_VERSION:-3.12}
DEST=${GPU_CHECK_WHEELS:-.whl}
CONSTRAINTS=requirements/constraints.txt
# what the device's python3 lacks (KINDS.md of the device tool, 2026-11-17)
PACKAGES=(mmengine mmdet mmpretrain addict termcolor yapf platformdirs
          terminaltables shapely pycocotools mat4py modelindex model-index
          ordered-set importlib_metadata lazy-importer torch-pruning
          setuptools)

pinned() {  # the version constraints.txt pins for $1 (names compared as pip does)
    local want
    want="$(echo "$1" | tr 'A-Z_.' 'a-z--')"
    while IFS='=' read -r name _ version; do
        [ "$(echo "$name" | tr 'A-Z_.' 'a-z--')" = "$want" ] && { echo "$version"; return 0; }
    done < <(grep -E '^[A-Za-z0-9_.-]+==' "$CONSTRAINTS")
    echo "gpu_check_prepare: $1 is not pinned in $CONSTRAINTS" >&2
    return 1
}

PIP=(python3 -m pip)
rm -rf "$DEST.partial" && mkdir -p "$DEST.partial"
specs=()
for package in "${PACKAGES[@]}"; do
    specs+=("$package==$(pinned "$package")")
done
"${PIP[@]}" download --disable-pip-version-check -q --no-deps --only-binary=:all: \
    --python-version "$PYVER" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$DEST.partial" "${specs[@]}"
if [ -n "${MMCV_WHEEL:-}" ]; then
    case "$(basename "$MMCV_WHEEL")" in
        mmcv-2.1.0-cp${PYVER/./}-*.whl) cp "$MMCV_WHEEL" "$DEST.partial/" ;;
        *) echo "gpu_check_prepare: MMCV_WHEEL=$MMCV_WHEEL is not an mmcv 2.1.0 wheel for Python $PYVER (mmcv-2.1.0-cp${PYVER/./}-*.whl)" >&2; exit 1 ;;
    esac
else
    # pip reads an sdist's metadata by running its setup.py, and mmcv's
    # imports torch and pkg_resources (setuptools < 70): the project's venv
    # has both
    [ -x .venv/bin/python ] || { echo "gpu_check_prepare: mmcv's source is fetched with the project's venv: run make setup first" >&2; exit 1; }
    .venv/bin/python -m pip download --disable-pip-version-check -q --no-deps \
        --no-binary :all: --no-build-isolation -d "$DEST.partial" "mmcv==$(pinned mmcv)"
fi
rm -rf "$DEST" && mv "$DEST.partial" "$DEST"
echo "gpu_check_prepare: $(ls "$DEST" | wc -l) files, $(du -sm "$DEST" | cut -f1) MiB in $DEST (Python $PYVER); carry '$DEST' in the device call"
