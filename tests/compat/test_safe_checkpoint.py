"""Safe-by-default checkpoint loading and atomic checkpoint writes, with
astro_mm's compatibility layer enabled (as astro_mm's tools and configs
enable it; ``import astro_mm`` alone leaves mmengine as it is:
test_plugin_hygiene.py)."""
import argparse
import os
import subprocess
import sys

import pytest
import torch
from mmengine.fileio.backends import LocalBackend
from mmengine.runner.checkpoint import CheckpointLoader

from astro_mm.compat import (TRUSTED_ENV, UnsafeCheckpointError,
                             apply_patches, atomic_write_bytes,
                             load_checkpoint_file, patches_applied,
                             stale_temp_files, trusted_checkpoints)
from conftest import PRETRAIN_CONFIG, run_tool


@pytest.fixture(autouse=True)
def compat_layer():
    """The opt-in of astro_mm's tools (conftest enables it already)."""
    apply_patches()
    assert patches_applied()


class _Payload:
    """Unpickling this runs ``os.system`` (a stand-in for any attack)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_malicious_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / 'pwned'
    ckpt = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _Payload(marker)}, ckpt)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_file(str(ckpt))
    assert str(ckpt) in str(err.value) and 'system' in str(err.value)
    assert TRUSTED_ENV in str(err.value)
    # mmengine's own entry point (load_from, resume, init_cfg) is covered too
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(str(ckpt), map_location='cpu')
    assert not marker.exists()


class _GetattrProbe:
    """Unpickles as ``getattr(HistoryBuffer, name)``."""

    def __init__(self, name):
        self.name = name

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return (getattr, (HistoryBuffer, self.name))


@pytest.mark.parametrize('name', ['__init__', '__class__', '_statistics_methods'])
def test_getattr_in_a_pickle_reaches_only_statistics_methods(tmp_path, name):
    from mmengine.logging.history_buffer import HistoryBuffer
    ok, bad = tmp_path / 'ok.pth', tmp_path / 'bad.pth'
    torch.save({'m': _GetattrProbe('max')}, ok)
    assert load_checkpoint_file(str(ok))['m'] is HistoryBuffer.max
    torch.save({'m': _GetattrProbe(name)}, bad)
    with pytest.raises(UnsafeCheckpointError, match='getattr'):
        load_checkpoint_file(str(bad))


def test_trusted_opt_in_loads_unlisted_types(tmp_path, monkeypatch):
    ckpt = tmp_path / 'ns.pth'
    torch.save({'meta': argparse.Namespace(a=1)}, ckpt)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(str(ckpt))
    with trusted_checkpoints():
        assert load_checkpoint_file(str(ckpt))['meta'].a == 1
    monkeypatch.setenv(TRUSTED_ENV, str(ckpt))
    assert load_checkpoint_file(str(ckpt))['meta'].a == 1
    monkeypatch.setenv(TRUSTED_ENV, str(tmp_path / 'other.pth'))
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(str(ckpt))


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothere.pth'):
        load_checkpoint_file(str(tmp_path / 'nothere.pth'))


def test_mmengine_checkpoint_round_trips_through_resume(demo_root, tmp_path):
    data = demo_root / 'demo_cifar'
    options = [
        f'train_dataloader.dataset.data_root={data}',
        f'val_dataloader.dataset.data_root={data}',
        f'test_dataloader.dataset.data_root={data}', 'train_cfg.val_interval=10'
    ]
    run_tool('tools/train.py', PRETRAIN_CONFIG, '--work-dir', str(tmp_path),
             '--cfg-options', 'train_cfg.max_epochs=1', *options)
    ckpt = load_checkpoint_file(str(tmp_path / 'epoch_1.pth'))
    # a full mmengine checkpoint, loaded with weights_only=True
    assert {'meta', 'state_dict', 'optimizer', 'message_hub',
            'param_schedulers'} <= set(ckpt)
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == 2

    proc = run_tool('tools/train.py', PRETRAIN_CONFIG, '--work-dir',
                    str(tmp_path), '--resume', '--cfg-options',
                    'train_cfg.max_epochs=2', *options)
    assert 'resumed epoch: 1, iter: 2' in proc.stdout + proc.stderr
    resumed = load_checkpoint_file(str(tmp_path / 'epoch_2.pth'))
    assert resumed['meta']['epoch'] == 2 and resumed['meta']['iter'] == 4


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'old')

    def crash(*args):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(OSError, match='disk full'):
        LocalBackend().put(b'new', str(target))
    assert target.read_bytes() == b'old'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_1.pth']
    monkeypatch.undo()
    atomic_write_bytes(b'new', str(target))
    assert target.read_bytes() == b'new'
    LocalBackend().put_text('epoch_1.pth', str(tmp_path / 'last_checkpoint'))
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_1.pth'


def test_next_write_removes_only_stale_temp_files(tmp_path):
    from astro_mm.compat.checkpoint import _host_tag
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()  # a process that wrote, then died (its pid is free)
    alive = subprocess.Popen([sys.executable, '-c', 'import time; '
                              'time.sleep(60)'])
    host = _host_tag()
    names = dict(
        killed=f'.iter_9.pth.atomic.{host}.{dead.pid}.a1b2c3d4.tmp',
        killed_text=f'.last_checkpoint.atomic.{host}.{dead.pid}.x_y_z123.tmp',
        writing=f'.iter_9.pth.atomic.{host}.{alive.pid}.a1b2c3d4.tmp',
        own=f'.iter_9.pth.atomic.{host}.{os.getpid()}.a1b2c3d4.tmp',
        other_host=f'.iter_9.pth.atomic.{host}x.{dead.pid}.a1b2c3d4.tmp',
        not_ours=f'.iter_9.pth.{dead.pid}.tmp')
    try:
        for name in names.values():
            (tmp_path / name).write_bytes(b'half')
        assert sorted(stale_temp_files(str(tmp_path))) == sorted(
            str(tmp_path / names[k]) for k in ('killed', 'killed_text'))
        atomic_write_bytes(b'new', str(tmp_path / 'iter_12.pth'))
    finally:
        alive.kill()
        alive.wait()
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {'iter_12.pth'} | {
        names[k] for k in ('writing', 'own', 'other_host', 'not_ours')}
    assert (tmp_path / 'iter_12.pth').read_bytes() == b'new'
