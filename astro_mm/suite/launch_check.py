"""The launch check (``benchmarks/launch_check.py``): the suite's launchers
on a CPU, over gloo, with a tiny network.

1. A suite unit of a ``2xb8`` config run with ``launcher='pytorch'``: 2
   processes (world size 2 in its log), total batch 16; its first
   iteration's loss averaged over the processes (``loss_all_ranks``) is
   compared with a one-process run of the same config at batch 16 (the
   config has no batch statistics, augmentation or shuffle that would
   separate them: the two must agree to float rounding, tolerance
   :data:`LOSS_TOLERANCE`).
2. The same unit with ``launcher='slurm'`` against a stand-in ``srun`` on
   PATH (:func:`write_fake_srun`: records its arguments, then starts the
   tasks locally with SLURM's variables); the recorded command line is
   compared with mmdet's ``slurm_train.sh`` form.
3. A run trained outside the suite by ``tools/dist_train.sh`` is brought in
   with :func:`.import_run.import_unit` and appears in the table; a run of
   another batch is refused.
"""
import glob
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
from typing import Callable, List, Optional

from astro_mm.datasets import generate_demo_cifar
from .config import SuiteConfigError, load_suite
from .import_run import import_unit, world_size_of
from .launch import LaunchSettings
from .runner import SuiteRunner
from .table import build_rows, to_markdown

CONFIG = 'configs/launch_check/resnet-tiny-gn_2xb8-1e_demo-cifar.py'
LOSS_TOLERANCE = 1e-4  # first-iteration loss, 2 x 8 vs 1 x 16 (float32)
PARTITION, SLURM_ARGS = 'debug', '--time=5'

FAKE_SRUN = '''#!{python}
"""A stand-in srun: records its arguments, then runs --ntasks tasks of the
command locally with SLURM's variables (as a one-node allocation)."""
import json, os, socket, subprocess, sys
args = sys.argv[1:]
with open({record!r}, 'a') as f:
    f.write(json.dumps(args) + '\\n')
ntasks, command, index = 1, None, 0
while index < len(args):
    arg = args[index]
    if arg == '-p':
        index += 2
        continue
    if not arg.startswith('-'):
        command = args[index:]
        break
    if arg.startswith('--ntasks='):
        ntasks = int(arg.split('=')[1])
    index += 1
with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
procs = [subprocess.Popen(command, env=dict(
    os.environ, SLURM_PROCID=str(rank), SLURM_LOCALID=str(rank),
    SLURM_NTASKS=str(ntasks), SLURM_NODELIST='localhost',
    MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port)))
    for rank in range(ntasks)]
sys.exit(max(p.wait() for p in procs))
'''


def write_fake_srun(folder: str, record: str) -> str:
    """Write the stand-in ``srun`` into ``folder`` (put it first on PATH);
    each call appends its arguments, as a JSON list, to ``record``."""
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, 'srun')
    with open(path, 'w') as f:
        f.write(FAKE_SRUN.format(python=sys.executable, record=record))
    os.chmod(path, 0o755)
    return path


def expected_srun_prefix(job_name: str) -> List[str]:
    """``srun`` options of a 2-task unit on one node with 2 GPUs, as
    mmdet's tools/slurm_train.sh writes them, then the training."""
    return ['-p', PARTITION, f'--job-name={job_name}', '--gres=gpu:2',
            '--ntasks=2', '--ntasks-per-node=2', '--cpus-per-task=5',
            '--kill-on-bad-exit=1', *shlex.split(SLURM_ARGS),
            sys.executable, '-u', 'tools/train.py', CONFIG]


def first_loss(work_dir: str, key: str = 'loss_all_ranks') -> float:
    """The first logged ``key`` of a training's scalars."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json in {work_dir}')
    with open(files[-1]) as f:
        for line in f:
            entry = json.loads(line)
            if key in entry:
                return float(entry[key])
    raise KeyError(f'{files[-1]} logs no {key}')


def world_size_logged(work_dir: str) -> Optional[int]:
    """``GPU number: N`` of the training's log (mmengine's world size)."""
    return world_size_of(work_dir)


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _write_suite(path: str, data_root: str) -> None:
    options = [f'{split}_dataloader.dataset.data_root={data_root}'
               for split in ('train', 'val', 'test')]
    with open(path, 'w') as f:
        f.write(f'suite = dict(name="launch-check", seeds=[0], '
                f'input_size=32)\n'
                f'runs = [dict(name="tiny", task="cls", method="plain", '
                f'label="tiny ResNet (GN)", config={CONFIG!r}, '
                f'cfg_options={options!r})]\n')


def _train(root: str, args: List[str], log_file: str,
           command: Optional[List[str]] = None, env=None) -> None:
    with open(log_file, 'w') as f:
        proc = subprocess.run(command or [sys.executable, 'tools/train.py'] +
                              args, cwd=root, stdout=f,
                              stderr=subprocess.STDOUT,
                              env=dict(os.environ, **(env or {})))
    if proc.returncode != 0:
        with open(log_file) as f:
            tail = ''.join(f.readlines()[-20:])
        raise RuntimeError(f'training exited {proc.returncode}; {log_file}:'
                           f'\n{tail}')


def run_launch_check(work_dir: str, root: str,
                     log: Callable[[str], None] = print) -> dict:
    """Run the three checks in ``work_dir``; return their figures
    (``world_size``, ``total_batch``, ``loss_diff``, ``slurm_cmd_ok``,
    ``imported_ok``, and what they came from)."""
    work_dir = osp.abspath(work_dir)
    data_root = osp.join(work_dir, 'data', 'demo_cifar')
    generate_demo_cifar(data_root, num_train=32, num_test=16)
    suite_file = osp.join(work_dir, 'suite.py')
    _write_suite(suite_file, data_root)
    cfg = load_suite(suite_file, root=root)
    options = ['randomness.seed=0'] + list(cfg.runs[0].cfg_options)
    quiet = lambda message: None  # noqa: E731

    log('1. the 2xb8 unit under --launcher pytorch (torchrun, gloo)')
    runner = SuiteRunner(cfg, osp.join(work_dir, 'pytorch'), root, log=quiet,
                         launch=LaunchSettings('pytorch'))
    result = runner.run()['tiny'][0]
    unit_dir = runner.unit_dir('tiny', 0)
    log('   and one process at batch 16')
    single = osp.join(work_dir, 'single')
    _train(root, [CONFIG, '--work-dir', single, '--cfg-options'] + options +
           ['train_dataloader.batch_size=16'], osp.join(work_dir,
                                                       'single.log'))
    loss_diff = abs(first_loss(unit_dir) - first_loss(single))

    log('2. the same unit under --launcher slurm (a stand-in srun)')
    record = osp.join(work_dir, 'srun_calls.jsonl')
    bin_dir = osp.join(work_dir, 'bin')
    write_fake_srun(bin_dir, record)
    path = bin_dir + os.pathsep + os.environ.get('PATH', '')
    slurm = SuiteRunner(cfg, osp.join(work_dir, 'slurm'), root, log=quiet,
                        launch=LaunchSettings('slurm', gpus=2,
                                              partition=PARTITION,
                                              slurm_args=SLURM_ARGS))
    old_path = os.environ.get('PATH', '')
    os.environ['PATH'] = path
    try:
        slurm_result = slurm.run()['tiny'][0]
    finally:
        os.environ['PATH'] = old_path
    with open(record) as f:
        calls = [json.loads(line) for line in f]
    prefix = expected_srun_prefix('launch-check-tiny-seed0')
    slurm_cmd_ok = (len(calls) == 1 and calls[0][:len(prefix)] == prefix and
                    calls[0][-2:] == ['--launcher', 'slurm'] and
                    world_size_logged(slurm.unit_dir('tiny', 0)) == 2 and
                    slurm_result['launch']['total_batch'] == 16)

    log('3. a run of tools/dist_train.sh brought in with --import')
    outside = osp.join(work_dir, 'outside')
    _train(root, [], osp.join(work_dir, 'outside.log'), command=[
        'bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', outside,
        '--cfg-options'] + options, env=dict(PYTHON=sys.executable,
                                             PORT=str(_free_port())))
    importer = SuiteRunner(cfg, osp.join(work_dir, 'imported'), root,
                           log=quiet)
    try:  # the one-process run trained at batch 16: not the unit's config
        import_unit(importer, f'tiny={single}')
        refused = False
    except SuiteConfigError as error:
        refused = 'train_dataloader.batch_size: 8 -> 16' in str(error)
    import_unit(importer, f'tiny={outside}')
    imported = importer.run()['tiny'][0]
    table = to_markdown(cfg, build_rows(cfg, {'tiny': [imported]}))
    imported_ok = (refused and imported['launch'].get('imported_from') ==
                   outside and imported['launch']['total_batch'] == 16 and
                   imported['top1'] is not None and
                   '| tiny ResNet (GN) |' in table)
    return dict(world_size=world_size_logged(unit_dir),
                total_batch=result['launch']['total_batch'],
                loss_diff=loss_diff, slurm_cmd_ok=int(slurm_cmd_ok),
                imported_ok=int(imported_ok), srun_call=calls[-1],
                table=table, launch=result['launch'])


def check_line(figures: dict) -> str:
    """The check's last line."""
    return (f'launch: world_size={figures["world_size"]} '
            f'total_batch={figures["total_batch"]} '
            f'loss_diff={figures["loss_diff"]:.2e} '
            f'slurm_cmd_ok={figures["slurm_cmd_ok"]} '
            f'imported_ok={figures["imported_ok"]}')
