"""The suite's launchers (astro_mm.suite.launch), --import, and the
launch check on CPU (gloo)."""
import os
import sys
import threading

import pytest
from mmengine.config import Config

from astro_mm.suite import SuiteConfigError, build_rows, load_suite
from astro_mm.suite.import_run import config_differences, parse_unit
from astro_mm.suite.launch import (GpuPool, LaunchError, LaunchSettings,
                                   plan_batch, train_command)
from astro_mm.suite.launch_check import (CONFIG, LOSS_TOLERANCE,
                                         check_line, run_launch_check)
from astro_mm.suite.table import to_markdown
from conftest import ROOT

CIFAR_8XB16 = 'configs/resnet/resnet18-cifar_8xb16-200e_cifar10.py'


def test_pytorch_launcher_starts_torchrun_with_the_units_devices():
    settings = LaunchSettings('pytorch', gpus=4)
    assert settings.unit_devices(8) == 4  # at most the node's GPUs
    assert settings.unit_devices(2) == 2
    assert LaunchSettings('pytorch').unit_devices(8) == 8  # CPU: gloo
    assert LaunchSettings('none', gpus=8).unit_devices(8) == 1
    assert train_command(settings, 2, ['C.py', '--work-dir', 'W'],
                         python='py') == [
        'py', '-m', 'torch.distributed.run', '--standalone',
        '--nproc_per_node=2', 'tools/train.py', 'C.py', '--work-dir', 'W',
        '--launcher', 'pytorch']
    # one device: a plain process
    assert train_command(settings, 1, ['C.py'], python='py') == [
        'py', 'tools/train.py', 'C.py']


def test_slurm_launcher_writes_slurm_train_shs_srun():
    settings = LaunchSettings('slurm', gpus=4, nodes=2, partition='gpu',
                              slurm_args='--time=1:00:00 --qos high')
    assert settings.unit_devices(16) == 8
    assert train_command(settings, 8, ['C.py'], job_name='s-run-seed0',
                         python='py') == [
        'srun', '-p', 'gpu', '--job-name=s-run-seed0', '--gres=gpu:4',
        '--ntasks=8', '--ntasks-per-node=4', '--cpus-per-task=5',
        '--kill-on-bad-exit=1', '--time=1:00:00', '--qos', 'high', 'py',
        '-u', 'tools/train.py', 'C.py', '--launcher', 'slurm']


@pytest.mark.parametrize('settings, message', [
    (dict(launcher='slurm'), 'partition'),
    (dict(launcher='pytorch', nodes=2), 'needs launcher slurm'),
    (dict(launcher='mpi'), 'launcher must be one of'),
    (dict(gpus=0), 'gpus'),
])
def test_bad_launch_settings_are_refused(settings, message):
    with pytest.raises(LaunchError, match=message):
        LaunchSettings(**settings)


def test_a_suite_with_bad_launch_keys_names_them(tmp_path):
    suite = tmp_path / 'suite.py'
    suite.write_text(
        "suite = dict(name='x', launcher='slurm')\n"
        "runs = [dict(name='a', task='cls', method='plain', "
        f"config='{CONFIG}')]\n")
    with pytest.raises(SuiteConfigError, match='suite: launch keys: .*'
                       'partition'):
        load_suite(str(suite), root=ROOT)


def test_lr_scales_with_the_total_batch_on_other_devices():
    cfg = Config.fromfile(os.path.join(ROOT, CIFAR_8XB16))
    lr = cfg.optim_wrapper.optimizer.lr
    as_named = plan_batch(cfg, CIFAR_8XB16, 8)
    assert (as_named.total_batch, as_named.options, as_named.lr) == (
        128, [], lr)
    fewer = plan_batch(cfg, CIFAR_8XB16, 2, launcher='pytorch')
    assert (fewer.per_device_batch, fewer.total_batch,
            fewer.config_total_batch) == (16, 32, 128)
    assert fewer.lr == pytest.approx(lr / 4)
    assert fewer.options == ['auto_scale_lr.enable=True',
                             'auto_scale_lr.base_batch_size=128']
    record = fewer.record()
    assert record['lr_scaled'] and record['devices'] == 2
    # a config without NxbM in its name is a one-device config, whatever
    # its auto_scale_lr says (a fine-tune config written by tools/prune.py)
    demo = 'configs/resnet/resnet18_1xb64-3e_demo-cifar.py'
    cfg = Config.fromfile(os.path.join(ROOT, demo))
    cfg.train_dataloader.batch_size = 32
    assert plan_batch(cfg, 'pruned_b60.py', 1).options == []


def test_units_at_once_get_disjoint_gpus(monkeypatch):
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '3,5,6,7')
    pool = GpuPool.for_node(3)
    assert pool.ids == ['3', '5', '6']
    with pool.acquire(2) as first, pool.acquire(1) as second:
        a = first['CUDA_VISIBLE_DEVICES'].split(',')
        b = second['CUDA_VISIBLE_DEVICES'].split(',')
        assert len(a) == 2 and not set(a) & set(b)
        got = []
        waiter = threading.Thread(
            target=lambda: got.append(pool.acquire(1).__enter__()))
        waiter.start()
        waiter.join(0.2)
        assert not got  # every GPU is taken: it waits
    waiter.join(5)
    assert got and got[0]['CUDA_VISIBLE_DEVICES'] in pool.ids
    with pytest.raises(LaunchError, match='needs 4 GPUs'):
        with pool.acquire(4):
            pass


def test_the_table_flags_a_row_trained_at_another_total_batch(tmp_path):
    suite = tmp_path / 'suite.py'
    suite.write_text(
        "suite = dict(name='x')\n"
        "runs = [dict(name='a', task='cls', method='plain', label='R', "
        f"config='{CONFIG}'), dict(name='b', task='cls', method='plain', "
        f"label='S', config='{CONFIG}')]\n")
    cfg = load_suite(str(suite), root=ROOT)

    def result(total):
        return dict(top1=50.0, params_M=1.0, flops_G=0.1, minutes=1.0,
                    launch=dict(total_batch=total, config_total_batch=16))

    table = to_markdown(cfg, build_rows(cfg, dict(a=[result(8)],
                                                  b=[result(16)])))
    assert '| R [batch 8 (config 16)] |' in table
    assert '| S |' in table


def test_import_lists_the_keys_that_differ():
    expected = dict(train_dataloader=dict(batch_size=8, dataset=dict(
        data_root='a')), work_dir='x', optim_wrapper=dict(
            optimizer=dict(lr=0.1)))
    found = dict(train_dataloader=dict(batch_size=16, dataset=dict(
        data_root='b')), work_dir='y', launcher='slurm',
        optim_wrapper=dict(optimizer=dict(lr=0.1)))
    # where it ran (work dir, data root, launcher) is not what it trained
    assert config_differences(expected, found) == [
        'train_dataloader.batch_size: 8 -> 16']
    assert parse_unit('manet/seed2=/w') == ('manet', '/w', 2)
    assert parse_unit('manet=/w') == ('manet', '/w', -1)
    with pytest.raises(SuiteConfigError, match='UNIT=WORK_DIR'):
        parse_unit('manet')


@pytest.fixture(scope='module')
def launch_figures(tmp_path_factory):
    """The launch check, run once (about 2 minutes on 2 cores)."""
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    return run_launch_check(str(tmp_path_factory.mktemp('launch')), ROOT,
                            log=lambda message: None)


def test_a_2xb8_unit_under_torchrun_runs_2_processes_at_batch_16(
        launch_figures):
    assert launch_figures['world_size'] == 2
    launch = launch_figures['launch']
    assert (launch['devices'], launch['per_device_batch'],
            launch['total_batch'], launch['lr_scaled']) == (2, 8, 16, False)
    # the mean over both processes is the 1-process loss at batch 16
    assert launch_figures['loss_diff'] <= LOSS_TOLERANCE


def test_the_slurm_path_calls_srun_as_slurm_train_sh(launch_figures):
    call = launch_figures['srun_call']
    assert call[:13] == [
        '-p', 'debug', '--job-name=launch-check-tiny-seed0', '--gres=gpu:2',
        '--ntasks=2', '--ntasks-per-node=2', '--cpus-per-task=5',
        '--kill-on-bad-exit=1', '--time=5', sys.executable, '-u',
        'tools/train.py', CONFIG]
    assert call[-2:] == ['--launcher', 'slurm']
    assert launch_figures['slurm_cmd_ok'] == 1


def test_an_imported_run_appears_in_the_table(launch_figures):
    assert launch_figures['imported_ok'] == 1
    assert '| tiny ResNet (GN) | plain | trained |' in launch_figures['table']
    assert check_line(launch_figures).startswith(
        'launch: world_size=2 total_batch=16 loss_diff=')
