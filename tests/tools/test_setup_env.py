"""tools/setup_env.sh refuses what cannot work, before it installs anything.

The script is run from a copy of its inputs in a temporary folder, with a
fake interpreter, so nothing is installed or built."""
import hashlib
import os
import shutil
import stat
import subprocess

import pytest

from conftest import ROOT

# what install_fashion_mnist in the script checks first
DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist'

INPUTS = ('requirements/constraints.txt', 'pyproject.toml',
          'tools/setup_env.sh', 'tools/mmcv_build.sh')
# Answers like a Python 3.9: the version check fails, imports fail.
OLD_PYTHON = """#!/bin/sh
case "$*" in
  *python_version*) echo 3.9.18 ;;
  *) exit 1 ;;
esac
"""

pytestmark = pytest.mark.skipif(
    not os.path.isdir(DEBIAN_FASHION_MNIST) and os.geteuid() == 0,
    reason='the script would apt-get install dataset-fashion-mnist first')


def _executable(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def repo(tmp_path):
    for rel in INPUTS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(ROOT, rel), tmp_path / rel)
    return tmp_path


def _setup(repo, python, **extra_env):
    env = {key: value for key, value in os.environ.items()
           if key not in ('FORCE_CUDA', 'TORCH_CUDA_ARCH_LIST', 'CUDA_HOME')}
    env.update(PYTHON=str(python), ASTRO_MM_CACHE=str(repo / 'cache'),
               **extra_env)
    return subprocess.run(['bash', str(repo / 'tools/setup_env.sh')],
                          capture_output=True, text=True, env=env,
                          timeout=60)


def test_refuses_python_older_than_311(repo):
    proc = _setup(repo, _executable(repo / 'py39', OLD_PYTHON))
    assert proc.returncode != 0
    assert 'is Python 3.9.18; astro_mm needs Python >= 3.11' in proc.stderr
    assert not (repo / '.venv').exists()


def test_current_stamp_with_broken_imports_rebuilds(repo):
    venv = repo / '.venv'
    _executable(venv / 'bin/python', '#!/bin/sh\nexit 1\n')  # imports fail
    digest = hashlib.sha256(b''.join(
        (repo / rel).read_bytes() for rel in INPUTS) +
        b'FORCE_CUDA=0 TORCH_CUDA_ARCH_LIST=\n').hexdigest()
    (venv / '.astro_mm_setup_stamp').write_text(digest + '\n')
    proc = _setup(repo, _executable(repo / 'py39', OLD_PYTHON))
    assert 'environment up to date' not in proc.stdout
    assert 'key packages do not import (damaged venv): rebuilding' \
        in proc.stdout
    assert not venv.exists()  # removed, then the rebuild needs a 3.11
    assert 'needs Python >= 3.11' in proc.stderr


def test_pyproject_requires_311():
    with open(os.path.join(ROOT, 'pyproject.toml')) as f:
        assert 'requires-python = ">=3.11"' in f.read()


# A venv whose python passes every step up to the mmcv build and answers the
# key query as torch 2.11 + CUDA 13.0 on a machine without a GPU would.
CUDA_VENV_PYTHON = """#!/bin/sh
if [ "$1" = - ]; then
  cat >/dev/null
  echo py311 2.11.0 cuda13.0-sm90ptx '9.0+PTX' -
fi
exit 0
"""


def _cuda_setup(repo, cuda_home):
    _executable(repo / '.venv/bin/python', CUDA_VENV_PYTHON)
    return _setup(repo, repo / '.venv/bin/python', FORCE_CUDA='1',
                  CUDA_HOME=str(cuda_home))


def test_cuda_build_without_nvcc_is_refused(repo):
    proc = _cuda_setup(repo, repo / 'no-toolkit')
    assert proc.returncode != 0
    assert f"needs the CUDA toolkit: no nvcc in {repo / 'no-toolkit'}/bin" \
        in proc.stderr
    assert not (repo / 'cache').exists()  # refused before any build


def test_cuda_build_with_other_major_nvcc_is_refused(repo):
    _executable(repo / 'cuda12/bin/nvcc',
                '#!/bin/sh\necho "Cuda compilation tools, release 12.4, '
                'V12.4.131"\n')
    proc = _cuda_setup(repo, repo / 'cuda12')
    assert proc.returncode != 0
    assert "is CUDA 12.4, torch's wheel CUDA 13.0: the major versions must " \
        'match' in proc.stderr
    assert not (repo / 'cache').exists()


def test_cuda_choice_is_part_of_the_stamp(repo):
    """A venv stamped for CPU ops is not 'up to date' under FORCE_CUDA=1."""
    venv = repo / '.venv'
    _executable(venv / 'bin/python', CUDA_VENV_PYTHON)  # imports work
    stamp = (venv / '.astro_mm_setup_stamp')
    stamp.write_text(hashlib.sha256(b''.join(
        (repo / rel).read_bytes() for rel in INPUTS) +
        b'FORCE_CUDA=0 TORCH_CUDA_ARCH_LIST=\n').hexdigest() + '\n')
    assert 'environment up to date' in _setup(repo, venv / 'bin/python').stdout
    cuda = _setup(repo, venv / 'bin/python', FORCE_CUDA='1',
                  CUDA_HOME=str(repo / 'no-toolkit'))  # stops before a build
    assert 'environment up to date' not in cuda.stdout
    assert 'needs the CUDA toolkit' in cuda.stderr


@pytest.mark.parametrize('links_cuda', [False, True])
def test_a_built_wheel_is_kept_only_with_the_ops_it_was_built_for(
        tmp_path, links_cuda):
    """pip's wheel cache once handed the CPU-ops wheel to a CUDA build:
    tools/mmcv_build.sh checks a built wheel's ops (CUDA ops link
    libc10_cuda.so) before the set-up caches it."""
    import sys
    import zipfile
    ext = b'\x7fELF...' + (b'libc10_cuda.so' if links_cuda else b'libc10.so')
    with zipfile.ZipFile(tmp_path / 'mmcv-2.1.0-cp311-cp311-linux_x86_64.whl',
                         'w') as wheel:
        wheel.writestr('mmcv/_ext.cpython-311-x86_64-linux-gnu.so', ext)
    script = os.path.join(ROOT, 'tools/mmcv_build.sh')

    def check(ops):
        return subprocess.run(
            ['bash', '-c', f'. {script}; check_mmcv_ops "$0" "$1" "$2"',
             sys.executable, str(tmp_path), ops],
            capture_output=True, text=True, timeout=60)

    right, wrong = ('cuda13.0-sm90ptx', 'cpu') if links_cuda else \
        ('cpu', 'cuda13.0-sm90ptx')
    assert check(right).returncode == 0
    refused = check(wrong)
    assert refused.returncode != 0
    assert f'does not have the {wrong} ops it was built for' in \
        refused.stderr
