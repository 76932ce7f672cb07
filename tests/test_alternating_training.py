"""Algorithm 1 through tools/train.py: logging, resume, DDP."""
import json
import os
import socket

import pytest
import torch

from astro_mm.compat import load_checkpoint_file
from conftest import ROOT, run_tool

# 12 iterations, a round every 3: warm-up (0-2), Phi (3-5), W (6-8), Phi (9-11)
TINY = """
_base_ = '{root}/configs/{method}/{method}_resnet18-cifar_1xb64-3e_demo-cifar.py'
data_root = '{data}'
train_dataloader = dict(
    batch_size={batch},
    dataset=dict(data_root=data_root, pipeline=[dict(type='PackInputs')]),
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True))
val_dataloader = dict(batch_size=32, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=12, val_interval=1000)
param_scheduler = []
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval={ckpt_interval}),
    logger=dict(interval=1))
log_processor = dict(by_epoch=False)
custom_hooks = [
    dict(type='astro_mm.AlternationHook', round_unit='iter', round_interval=3),
    dict(type='astro_mm.ReplicaConsistencyHook'),
]
model = dict(warmup_rounds=1)
"""


def _config(tmp_path, demo_root, method='manet', batch=16, ckpt_interval=7):
    path = tmp_path / f'tiny_{method}.py'
    path.write_text(TINY.format(root=ROOT, method=method,
                                data=demo_root / 'demo_cifar', batch=batch,
                                ckpt_interval=ckpt_interval))
    return str(path)


def _scalars(work_dir):
    lines = next(work_dir.glob('*/vis_data/scalars.json')).read_text()
    return [json.loads(line) for line in lines.splitlines()]


@pytest.mark.parametrize('method', ['manet', 'astronet'])
def test_resume_mid_round_equals_uninterrupted(method, demo_root, tmp_path):
    config = _config(tmp_path, demo_root, method)
    straight, stopped = tmp_path / 'straight', tmp_path / 'stopped'
    run_tool('tools/train.py', config, '--work-dir', str(straight))
    # stop inside the W-round (iteration 7 of rounds 6-8), then resume
    run_tool('tools/train.py', config, '--work-dir', str(stopped),
             '--cfg-options', 'train_cfg.max_iters=7')
    proc = run_tool('tools/train.py', config, '--work-dir', str(stopped),
                    '--resume')
    assert 'resumed' in (proc.stdout + proc.stderr).lower()

    a = load_checkpoint_file(str(straight / 'iter_12.pth'))
    b = load_checkpoint_file(str(stopped / 'iter_12.pth'))
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][key]), key
    assert set(a['optimizer']) >= {'tnet', 'mnet'}
    assert int(a['state_dict']['round']) == 4

    # what Algorithm 1 logs every iteration, phases in the right order
    logs = _scalars(straight)
    phases = [int(entry['phase']) for entry in logs if 'phase' in entry]
    assert phases == [0] * 3 + [2] * 3 + [1] * 3 + [2] * 3
    for entry in logs:
        if 'phase' in entry:
            assert 0.0 < entry['mean_p'] <= 1.0
            assert 0.0 <= entry['p_below_delta'] <= 1.0
            assert 'tnet.lr' in entry or 'lr' in entry
    phi_entries = [e for e in logs if e.get('phase') == 2]
    reg_key = 'loss_reg' if method == 'manet' else 'loss_temporal'
    assert all(reg_key in e for e in phi_entries)
    if method == 'astronet':
        assert all('e_t' in e for e in phi_entries)


def test_scalars_reach_tensorboard(demo_root, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    config = _config(tmp_path, demo_root, 'manet')
    run_tool('tools/train.py', config, '--work-dir', str(tmp_path / 'tb'),
             '--cfg-options', 'train_cfg.max_iters=4',
             'visualizer.vis_backends.0.type=TensorboardVisBackend')
    events = next((tmp_path / 'tb').glob('*/vis_data/events.out.tfevents.*'))
    acc = EventAccumulator(str(events.parent))
    acc.Reload()
    tags = set(acc.Tags()['scalars'])
    assert {'phase', 'round', 'mean_p', 'p_below_delta', 'loss_reg',
            'tnet.lr', 'mnet_a1.lr'} <= tags, tags
    phases = [e.value for e in acc.Scalars('phase')]
    assert phases == [0.0, 0.0, 0.0, 2.0]


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_ddp_two_processes_cross_phase_changes(demo_root, tmp_path):
    config = _config(tmp_path, demo_root, 'manet', batch=8, ckpt_interval=12)
    work_dir = tmp_path / 'ddp'
    proc = run_tool(
        '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={_free_port()}', 'tools/train.py', config,
        '--launcher', 'pytorch', '--work-dir', str(work_dir),
        env={'OMP_NUM_THREADS': '1'})
    out = proc.stdout + proc.stderr
    assert 'replicas consistent' in out
    assert (work_dir / 'iter_12.pth').is_file()
    phases = [int(e['phase']) for e in _scalars(work_dir) if 'phase' in e]
    assert set(phases) == {0, 1, 2}
