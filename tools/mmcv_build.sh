# Building mmcv 2.1.0 from source, with CPU or CUDA ops: one home for the
# set-up (tools/setup_env.sh) and for the GPU check on a machine without a
# package registry (benchmarks/gpu_check.sh). Sourced by both; the caller
# may define log and die (fallbacks below).
#
#   mmcv_build_env PY      sets PY_TAG, TORCH_VER and OPS_TAG ('cpu', or the
#                          CUDA version and architectures, e.g.
#                          'cuda13.0-sm90ptx'); for CUDA ops it checks nvcc
#                          and exports CUDA_HOME, FORCE_CUDA,
#                          TORCH_CUDA_ARCH_LIST and CPATH
#   mmcv_build_wheel PY DIR SOURCE [PIP ARGS...]
#                          builds SOURCE ('mmcv==2.1.0', or an sdist's path)
#                          into DIR, atomically (DIR only ever holds a
#                          finished wheel), and checks its ops
#
# CUDA ops are chosen when PY's torch sees a GPU or FORCE_CUDA=1. A CUDA
# build is keyed by the CUDA version and the GPU architectures: a wheel
# built for sm_90 does not run on an sm_80 card.
declare -F log >/dev/null || log() { printf '[mmcv %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
declare -F die >/dev/null || die() { printf '[mmcv %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

mmcv_build_env() {  # $1: the python whose torch the ops are built against
    read -r PY_TAG TORCH_VER OPS_TAG ARCHS CUDA_INCLUDE < <("$1" - <<'EOF'
import os, os.path as osp, sys, torch
cuda = torch.cuda.is_available() or os.environ.get('FORCE_CUDA', '0') == '1'
archs, include = '-', '-'
if cuda:
    if os.environ.get('TORCH_CUDA_ARCH_LIST'):
        archs = os.environ['TORCH_CUDA_ARCH_LIST'].replace(' ', ';')
    elif torch.cuda.is_available():
        archs = ';'.join(sorted({'%d.%d' % torch.cuda.get_device_capability(i)
                                 for i in range(torch.cuda.device_count())}))
    else:
        # No GPU to ask (a build machine): torch's own default then fails
        # (an empty list). Build for the H100 / H200, with PTX that newer
        # cards compile at load; name others in TORCH_CUDA_ARCH_LIST.
        archs = '9.0+PTX'
    # pip's CUDA wheels carry the cuBLAS / cuSPARSE / cuSOLVER headers that
    # torch's CUDA headers include and a bare toolkit may lack
    major = torch.version.cuda.split('.')[0]
    candidate = osp.join(osp.dirname(osp.dirname(torch.__file__)), 'nvidia',
                         f'cu{major}', 'include')
    include = candidate if osp.isdir(candidate) else '-'
tag = 'cpu'
if cuda:
    tag = f'cuda{torch.version.cuda}-sm' + '-'.join(
        a.replace('.', '').replace('+PTX', 'ptx') for a in archs.split(';'))
print(f'py{sys.version_info.major}{sys.version_info.minor}',
      torch.__version__.split('+')[0], tag, archs, include)
EOF
    ) || die "could not read torch's version and CUDA build from $1 (did torch install?)"
    if [ "$OPS_TAG" != cpu ]; then
        # torch guesses CUDA_HOME as the parent of nvcc's folder: wrong where
        # nvcc on PATH is a wrapper script (/usr/local/bin/nvcc gives /usr/local)
        if [ -z "${CUDA_HOME:-}" ]; then
            if [ -x /usr/local/cuda/bin/nvcc ]; then CUDA_HOME=/usr/local/cuda
            elif command -v nvcc >/dev/null; then CUDA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")"
            fi
        fi
        [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ] \
            || die "building mmcv's CUDA ops needs the CUDA toolkit: no nvcc in ${CUDA_HOME:-\$CUDA_HOME (unset)}/bin; install the toolkit matching torch's CUDA ($OPS_TAG), or set CUDA_HOME"
        NVCC_VER="$("$CUDA_HOME/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')"
        TORCH_CUDA="$(echo "$OPS_TAG" | sed 's/^cuda\([0-9.]*\)-.*/\1/')"
        [ "${NVCC_VER%%.*}" = "${TORCH_CUDA%%.*}" ] \
            || die "nvcc in $CUDA_HOME is CUDA $NVCC_VER, torch's wheel CUDA $TORCH_CUDA: the major versions must match (set CUDA_HOME to a matching toolkit)"
        export CUDA_HOME FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="$ARCHS"
        if [ "$CUDA_INCLUDE" != - ]; then export CPATH="$CUDA_INCLUDE${CPATH:+:$CPATH}"; fi
        log "CUDA ops: nvcc $NVCC_VER in $CUDA_HOME, architectures $ARCHS"
    fi
}

check_mmcv_ops() {  # $1: python, $2: folder of the built wheel, $3: its ops
    # CUDA ops link torch's CUDA library; CPU ops do not. Checked in the
    # wheel, since a machine without a GPU cannot load CUDA ops to try them.
    "$1" - "$2" "$3" <<'EOF' || die "the mmcv wheel built in $2 does not have the $3 ops it was built for; nothing was kept"
import glob, sys, zipfile
folder, ops = sys.argv[1:]
with zipfile.ZipFile(glob.glob(f'{folder}/mmcv-2.1.0-*.whl')[0]) as wheel:
    ext = [n for n in wheel.namelist() if n.startswith('mmcv/_ext')]
    links_cuda = bool(ext) and b'libc10_cuda.so' in wheel.read(ext[0])
sys.exit(not ext or links_cuda != (ops != 'cpu'))
EOF
}

mmcv_build_wheel() {  # $1: python, $2: folder, $3: source, then pip's extra args
    local py="$1" dir="$2" source="$3"
    shift 3
    rm -rf "$dir.partial" && mkdir -p "$dir.partial"
    # --no-cache-dir: pip's own wheel cache keys mmcv by its source only and
    # handed a CPU-ops wheel to a CUDA build (seen: "built" in 3 s)
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "$py" -m pip wheel --disable-pip-version-check -q --no-deps --no-build-isolation \
        --no-cache-dir --no-binary mmcv -w "$dir.partial" "$@" "$source"
    check_mmcv_ops "$py" "$dir.partial" "$OPS_TAG"
    rm -rf "$dir" && mv "$dir.partial" "$dir"
}
