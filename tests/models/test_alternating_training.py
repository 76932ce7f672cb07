"""Algorithm 1 through tools/train.py: logging, resume, crash, DDP."""
import copy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch
from torch import nn

from astro_mm.compat import load_checkpoint_file, stale_temp_files
from conftest import ROOT, run_tool

# 12 iterations, a round every 3: warm-up (0-2), Phi (3-5), W (6-8),
# Phi (9-11).
# A narrow ResNet-18 (8 base channels) on 16x16 images keeps a run to seconds.
TINY = """
_base_ = '{root}/configs/{method}/{method}_resnet18-cifar_1xb64-3e_demo-cifar.py'
data_root = '{data}'
pipeline = [dict(type='Resize', scale=16), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size={batch},
    dataset=dict(data_root=data_root, pipeline=pipeline),
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True))
val_dataloader = dict(
    batch_size=32, dataset=dict(data_root=data_root, pipeline=pipeline))
test_dataloader = val_dataloader
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=12, val_interval=1000)
param_scheduler = []
default_hooks = dict(
    checkpoint=dict(by_epoch=False, {checkpoint}),
    logger=dict(interval=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0, deterministic=True)
custom_hooks = [
    dict(type='astro_mm.AlternationHook', round_unit='iter', round_interval=3),
    dict(type='astro_mm.ReplicaConsistencyHook'),
]
model = dict(
    warmup_rounds=1,
    architecture=dict(
        backbone=dict(stem_channels=8, base_channels=8),
        head=dict(in_channels=64)))
"""
# Phase of each 0-based iteration as logged: 0 warm-up, 1 W, 2 Phi
PHASES = [0] * 3 + [2] * 3 + [1] * 3 + [2] * 3


def _config(tmp_path, demo_root, method='manet', batch=8,
            checkpoint='interval=7'):
    path = tmp_path / f'tiny_{method}.py'
    path.write_text(TINY.format(root=ROOT, method=method,
                                data=demo_root / 'demo_cifar', batch=batch,
                                checkpoint=checkpoint))
    return str(path)


def _scalars(work_dir):
    lines = next(work_dir.glob('*/vis_data/scalars.json')).read_text()
    return [json.loads(line) for line in lines.splitlines()]


def _resumed_at(log):
    """The (epoch, iter) of every 'resumed' line mmengine logged."""
    return [(int(e), int(i))
            for e, i in re.findall(r'resumed epoch: (\d+), iter: (\d+)', log)]


def _assert_equal(a, b, where='checkpoint'):
    """Nested dicts / lists / tensors are equal, tensors bit for bit."""
    if torch.is_tensor(a):
        assert torch.is_tensor(b) and a.dtype == b.dtype, where
        assert torch.equal(a, b), f'{where} differs'
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            _assert_equal(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_equal(x, y, f'{where}[{i}]')
    else:
        assert a == b, f'{where}: {a!r} != {b!r}'


def _assert_same_training_state(path_a, path_b):
    """Weights, modulator, algorithm / LSTM buffers and every optimizer."""
    a, b = load_checkpoint_file(str(path_a)), load_checkpoint_file(str(path_b))
    _assert_equal(a['state_dict'], b['state_dict'], 'state_dict')
    assert {'tnet', 'mnet'} <= {k.split('_')[0] for k in a['optimizer']}
    for name, state in a['optimizer'].items():
        assert state['state'], f'optimizer {name} holds no state to compare'
    _assert_equal(a['optimizer'], b['optimizer'], 'optimizer')
    assert a['meta']['iter'] == b['meta']['iter'] == 12


@pytest.fixture(scope='module')
def straight_run(demo_root, tmp_path_factory):
    """``straight_run(method)``: (config, work dir) of an uninterrupted
    12-iteration run, with checkpoints after iterations 1, 4, 7 and 10 (and
    12, the last); run once per module."""
    runs = {}

    def run(method):
        if method not in runs:
            tmp = tmp_path_factory.mktemp(f'straight_{method}')
            config = _config(tmp, demo_root, method, checkpoint=(
                'interval=3, save_begin=1, max_keep_ckpts=-1'))
            run_tool('tools/train.py', config, '--work-dir', str(tmp / 'run'))
            runs[method] = config, tmp / 'run'
        return runs[method]

    return run


@pytest.mark.parametrize('method', ['manet', 'astronet'])
def test_uninterrupted_run_logs_algorithm_1(method, straight_run):
    _, work_dir = straight_run(method)
    ckpt = load_checkpoint_file(str(work_dir / 'iter_12.pth'))
    assert int(ckpt['state_dict']['round']) == 4

    # what Algorithm 1 logs every iteration, phases in the right order
    logs = _scalars(work_dir)
    phases = [int(entry['phase']) for entry in logs if 'phase' in entry]
    assert phases == PHASES
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


@pytest.mark.parametrize('method', ['manet', 'astronet'])
@pytest.mark.parametrize('stop', [7, 10], ids=['in_w_round', 'in_phi_round'])
def test_resume_mid_round_equals_uninterrupted(method, stop, straight_run,
                                               tmp_path):
    # The checkpoint the uninterrupted run wrote after iteration `stop` is
    # what a run interrupted there leaves behind (a real kill: below).
    config, straight = straight_run(method)
    resumed = tmp_path / 'resumed'
    proc = run_tool('tools/train.py', config, '--work-dir', str(resumed),
                    '--resume', str(straight / f'iter_{stop}.pth'))
    # it resumed after iteration `stop`, in the round it stopped in
    assert _resumed_at(proc.stdout + proc.stderr) == [(0, stop)]
    logs = [e for e in _scalars(resumed) if 'phase' in e]
    assert [e['iter'] for e in logs] == list(range(stop + 1, 13))
    assert [int(e['phase']) for e in logs] == PHASES[stop:]
    assert int(load_checkpoint_file(str(straight / f'iter_{stop}.pth'))
               ['state_dict']['round']) == stop // 3 + 1

    _assert_same_training_state(straight / 'iter_12.pth',
                                resumed / 'iter_12.pth')
    if method == 'manet':  # the LSTM state took part, and moved on
        before = load_checkpoint_file(str(straight / f'iter_{stop}.pth'))
        after = load_checkpoint_file(str(resumed / 'iter_12.pth'))
        lstm = [k for k in after['state_dict'] if k.endswith('lstm_state')]
        assert lstm
        assert any(after['state_dict'][k].any() for k in lstm)
        assert any(not torch.equal(after['state_dict'][k],
                                   before['state_dict'][k]) for k in lstm)


# tools/train.py whose write of one file stops half-way, until it is killed
HALF_WRITE = """
import os, runpy, sys, time

real_fdopen = os.fdopen


class HalfWriter:
    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.f.__exit__(*exc)

    def write(self, data):
        self.f.write(data[:len(data) // 2])
        self.f.flush()
        open({marker!r}, 'w').close()
        time.sleep(600)


def fdopen(fd, *args, **kwargs):
    f = real_fdopen(fd, *args, **kwargs)
    name = os.path.basename(os.readlink(f'/proc/self/fd/{{fd}}'))
    return HalfWriter(f) if name.startswith({prefix!r}) else f


os.fdopen = fdopen
sys.argv = ['tools/train.py', *sys.argv[1:]]
runpy.run_path('tools/train.py', run_name='__main__')
"""


def _train_until_marker(script, config, work_dir, marker, timeout=300):
    """Run the script; SIGKILL it once ``marker`` exists."""
    log = work_dir.parent / 'killed.log'
    with open(log, 'w') as out:
        proc = subprocess.Popen(
            [sys.executable, str(script), config, '--work-dir', str(work_dir)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not marker.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise AssertionError('no checkpoint write to interrupt:\n'
                                     + log.read_text()[-4000:])
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL


@pytest.mark.skipif(not os.path.isdir('/proc/self/fd'), reason='needs /proc')
def test_kill_during_checkpoint_write_then_resume(demo_root, straight_run,
                                                  tmp_path):
    config = _config(tmp_path, demo_root, 'manet', checkpoint='interval=3')
    work_dir, marker = tmp_path / 'run', tmp_path / 'writing'
    script = tmp_path / 'half_write_train.py'
    script.write_text(HALF_WRITE.format(marker=str(marker),
                                        prefix='.iter_9.pth.'))
    _train_until_marker(script, config, work_dir, marker)

    # the killed write left half a temp file; the real name never appeared
    leftovers = list(work_dir.glob('.iter_9.pth.*.tmp'))
    assert len(leftovers) == 1 and leftovers[0].stat().st_size > 0
    assert stale_temp_files(str(work_dir)) == [str(leftovers[0])]
    assert not (work_dir / 'iter_9.pth').exists()
    # the last complete checkpoint survives and is the one named as last
    last = (work_dir / 'last_checkpoint').read_text().strip()
    assert os.path.basename(last) == 'iter_6.pth'
    assert load_checkpoint_file(last)['meta']['iter'] == 6

    proc = run_tool('tools/train.py', config, '--work-dir', str(work_dir),
                    '--resume')
    assert _resumed_at(proc.stdout + proc.stderr) == [(0, 6)]
    # the next save removed the leftover; training ended as if never killed
    assert not list(work_dir.glob('.*.tmp'))
    assert (work_dir / 'iter_9.pth').is_file()
    _assert_same_training_state(straight_run('manet')[1] / 'iter_12.pth',
                                work_dir / 'iter_12.pth')


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


def _counts_to_compare(config):
    """Parameters and buffers ReplicaConsistencyHook must compare."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from astro_mm.engine.hooks.replica_consistency_hook import \
        per_replica_buffers
    from astro_mm.registry import MODELS
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(config)
    # as the Runner builds it: the config's data_preprocessor goes in
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(cfg.model)
    buffers = {name for name, _ in model.named_buffers()}
    assert {'round', 'cached_probs', 'snapshot'} <= buffers
    per_replica = set(per_replica_buffers(model))
    assert per_replica and per_replica < buffers
    return len(list(model.parameters())), len(buffers - per_replica)


@pytest.mark.parametrize('method', ['manet', 'astronet'])
def test_ddp_two_processes_cross_phase_changes(method, demo_root, tmp_path):
    config = _config(tmp_path, demo_root, method, batch=4,
                     checkpoint='interval=12')
    work_dir = tmp_path / 'ddp'
    proc = run_tool(
        '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={_free_port()}', 'tools/train.py', config,
        '--launcher', 'pytorch', '--work-dir', str(work_dir),
        env={'OMP_NUM_THREADS': '1'})
    out = proc.stdout + proc.stderr
    # parameters and buffers (P cached for W, snapshots, LSTM state) checked
    match = re.search(r'replicas consistent: (\d+) parameters and (\d+) '
                      r'buffers equal on 2 processes', out)
    assert match, out[-4000:]
    params, buffers = _counts_to_compare(config)
    assert match.groups() == (str(params), str(buffers))
    assert (work_dir / 'iter_12.pth').is_file()
    phases = [int(e['phase']) for e in _scalars(work_dir) if 'phase' in e]
    assert set(phases) == {0, 1, 2}


def test_replica_consistency_compares_buffers_too(monkeypatch):
    from types import SimpleNamespace

    from astro_mm.engine.hooks import replica_consistency_hook as module
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    model.register_buffer('lstm_state', torch.arange(6.0).view(2, 3))
    peer = copy.deepcopy(model)  # the replica of the other process
    messages = []
    runner = SimpleNamespace(model=model,
                             logger=SimpleNamespace(info=messages.append))

    def train_ends(hook):
        _, _, theirs = hook.local_checksums(peer)
        monkeypatch.setattr(module, 'all_gather', lambda ours: [ours, theirs])
        hook.after_train(runner)

    monkeypatch.setattr(module, 'get_world_size', lambda: 2)
    hook = module.ReplicaConsistencyHook()
    # BN statistics are per replica without SyncBN: reported, not enforced
    peer[1].running_mean += 0.5
    train_ends(hook)
    assert messages[-1].startswith(
        'replicas consistent: 4 parameters and 1 buffers equal on 2 processes;'
        ' 3 BatchNorm running statistics not compared')
    assert messages[-1].endswith('largest checksum difference 3')
    with pytest.raises(RuntimeError, match=r'buffer 1\.running_mean'):
        train_ends(module.ReplicaConsistencyHook(strict_norm_stats=True))
    # any other buffer must match, also when only its entries are permuted
    peer.lstm_state.copy_(peer.lstm_state.flip(1))
    with pytest.raises(RuntimeError, match="1 tensors, first: "
                       r"\['buffer lstm_state'\]"):
        train_ends(hook)
