"""benchmarks/gpu_check.sh on a machine without a registry (this
workplace's lent GPUs): the wheels gpu_check_prepare.sh names are pinned,
and the offline set-up installs the carried wheels beside the machine's
python3 before it looks for a GPU.

No GPU here: a stand-in nvidia-smi lets the script past its first check,
and it must then stop where the machine's torch sees no CUDA device, after
installing the carried wheels (two tiny ones, so nothing real is built)."""
import os
import re
import stat
import subprocess
import sys
import zipfile

from conftest import ROOT


def _pins():
    pins = {}
    with open(os.path.join(ROOT, 'requirements/constraints.txt')) as f:
        for line in f:
            match = re.match(r'^([A-Za-z0-9_.-]+)==(\S+)', line)
            if match:
                pins[re.sub(r'[-_.]+', '-', match[1]).lower()] = match[2]
    return pins


def test_every_carried_package_is_pinned():
    with open(os.path.join(ROOT, 'benchmarks/gpu_check_prepare.sh')) as f:
        script = f.read()
    packages = re.search(r'PACKAGES=\(([^)]*)\)', script)[1].split()
    assert {'mmengine', 'mmdet', 'mmpretrain', 'pycocotools',
            'torch-pruning'} <= set(packages)
    pins = _pins()
    unpinned = [p for p in packages
                if re.sub(r'[-_.]+', '-', p).lower() not in pins]
    assert unpinned == []
    assert pins['mmcv'] == '2.1.0'  # the sdist the device builds


def _wheel(folder, name, module_text, version='1.0', tag='py3-none-any'):
    """A minimal valid wheel of one module (pip installs it offline)."""
    dist = f'{name}-{version}.dist-info'
    path = folder / f'{name}-{version}-{tag}.whl'
    with zipfile.ZipFile(path, 'w') as wheel:
        wheel.writestr(f'{name}.py', module_text)
        wheel.writestr(f'{dist}/METADATA', f'Metadata-Version: 2.1\nName: '
                       f'{name}\nVersion: {version}\n')
        wheel.writestr(f'{dist}/WHEEL', 'Wheel-Version: 1.0\nGenerator: test'
                       f'\nRoot-Is-Purelib: true\nTag: {tag}\n')
        wheel.writestr(f'{dist}/RECORD', '')
    return path


def test_offline_setup_installs_the_carried_wheels_then_needs_a_gpu(
        tmp_path):
    wheels = tmp_path / 'wheels'
    wheels.mkdir()
    _wheel(wheels, 'carried_one', 'VALUE = 1\n')
    _wheel(wheels, 'carried_two', 'VALUE = 2\n')
    # a prebuilt mmcv wheel came along (MMCV_WHEEL): nothing is built
    _wheel(wheels, 'mmcv', 'STAND_IN = True\n', version='2.1.0')
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    smi = bin_dir / 'nvidia-smi'
    smi.write_text('#!/bin/sh\necho "GPU 0: stand-in (UUID: GPU-0)"\n')
    smi.chmod(smi.stat().st_mode | stat.S_IXUSR)
    site = tmp_path / 'site'
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}',
               GPU_CHECK_WHEELS=str(wheels), GPU_CHECK_SITE=str(site),
               GPU_CHECK_PYTHON=sys.executable,
               GPU_CHECK_DIR=str(tmp_path / 'out'), CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run(['bash', 'benchmarks/gpu_check.sh'], cwd=ROOT,
                          env=env, capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert (site / 'carried_one.py').read_text() == 'VALUE = 1\n'
    assert (site / 'carried_two.py').read_text() == 'VALUE = 2\n'
    assert (site / 'mmcv.py').is_file()  # the carried wheel, not a build
    assert 'building mmcv' not in out
    assert re.search(r'setup: seconds=\d+ \(offline: ', out), out
    assert "torch sees no CUDA device" in out
    assert 'nothing more was run' in out
