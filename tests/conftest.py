"""Shared fixtures: tiny demo data and a tiny classification checkpoint.

Training and testing run through the real ``tools/train.py`` and
``tools/test.py`` in subprocesses, as a user runs them; mmengine keeps
global state (scopes, message hubs) per process, so one process per run
also keeps the tests independent.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

# Under pytest-xdist (make test: one worker per core) every worker and the
# tool subprocess it waits on would start one torch thread per core: two
# workers' tools with two threads each on two cores wait on descheduled
# threads at every op (make test: 12.8 min, against 9.3 with one thread). One
# thread per process, inherited by the tools; a test that wants more sets
# it itself.
if os.environ.get('PYTEST_XDIST_WORKER'):
    os.environ.setdefault('OMP_NUM_THREADS', '1')

# The tests stand in for astro_mm's tools, which run with its compatibility
# layer (tools/train.py calls apply_patches): in-process runners load
# mmengine checkpoints (torch 2.11's weights_only default). What
# ``import astro_mm`` alone does, without it, is tested in subprocesses
# (test_plugin_hygiene.py).
from astro_mm.compat import apply_patches  # noqa: E402

apply_patches()

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PRETRAIN_CONFIG = 'configs/resnet/resnet18_1xb64-3e_demo-cifar.py'


def run_tool(*args, check=True, env=None):
    """Run ``python tools/<args>`` from the repo root; return the process."""
    proc = subprocess.run([sys.executable, *args],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(args)} exited {proc.returncode}\n'
            f'{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}')
    return proc


def read_metrics(work_dir):
    with open(osp.join(work_dir, 'metrics.json')) as f:
        return json.load(f)


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory):
    """Small demo sets: CIFAR-format classification and COCO-format."""
    from astro_mm.datasets import generate_demo_cifar, generate_demo_coco
    root = tmp_path_factory.mktemp('data')
    generate_demo_cifar(str(root / 'demo_cifar'), num_train=128, num_test=64)
    generate_demo_coco(str(root / 'demo_coco'), num_train=8, num_val=4)
    return root


@pytest.fixture(scope='session')
def cls_checkpoint(demo_root, tmp_path_factory):
    """A ResNet-18 checkpoint trained one epoch by tools/train.py."""
    work_dir = tmp_path_factory.mktemp('pretrain')
    data = demo_root / 'demo_cifar'
    run_tool('tools/train.py', PRETRAIN_CONFIG, '--work-dir', str(work_dir),
             '--cfg-options', 'train_cfg.max_epochs=1',
             f'train_dataloader.dataset.data_root={data}',
             f'val_dataloader.dataset.data_root={data}',
             f'test_dataloader.dataset.data_root={data}')
    ckpt = work_dir / 'epoch_1.pth'
    assert ckpt.is_file()
    return str(ckpt)


def demo_coco_options(demo_root, iters=2):
    """--cfg-options pointing a demo detector config at the tiny COCO set."""
    coco = f'{demo_root}/demo_coco/'
    ann = coco + 'annotations/instances_val.json'
    return [
        f'train_dataloader.dataset.data_root={coco}',
        f'val_dataloader.dataset.data_root={coco}',
        f'test_dataloader.dataset.data_root={coco}',
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}',
        'train_dataloader.batch_size=2', f'train_cfg.max_iters={iters}',
        'train_cfg.val_interval=1000', 'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={iters}'
    ]
