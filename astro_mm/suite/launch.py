"""How a suite launches a unit's training: devices, command line, batch.

A training unit runs with the devices its config names (OpenMMLab's
``NxbM``: N devices of batch M, :func:`devices_of`):

* ``launcher='none'``: one process (one GPU of the pool with ``gpus``);
* ``launcher='pytorch'``: torchrun on this node, ``--nproc_per_node`` the
  unit's devices, ``tools/train.py ... --launcher pytorch`` (mmengine's
  pytorch launcher; gloo without a GPU, ``runner_setup``), as
  ``tools/dist_train.sh``;
* ``launcher='slurm'``: ``srun`` as mmdet's ``tools/slurm_train.sh``
  (``-p PARTITION --job-name --gres=gpu:G --ntasks=N --ntasks-per-node
  --cpus-per-task --kill-on-bad-exit=1 [SLURM_ARGS] python -u
  tools/train.py CONFIG --launcher slurm``).

A unit gets at most ``gpus`` (per node) x ``nodes`` devices. On one node the
units running at once take disjoint GPU sets from a :class:`GpuPool`
(``CUDA_VISIBLE_DEVICES``), as many at once as the GPUs allow; under SLURM
the scheduler places them. Tests and prunes stay single-process (one GPU
of the pool).

Batch and learning rate, the one rule: the per-device batch stays the
config's, so a unit on another number of devices than its name says trains
at another total batch, and its learning rate follows mmengine's linear
``auto_scale_lr`` from the config's total batch (``base_batch_size`` = N x
per-device batch: the batch the config's lr is written for). The unit's
``result.json`` records the devices, per-device and total batch and the lr
(:class:`BatchPlan`); the table flags a row trained at another total batch.
"""
import contextlib
import os
import os.path as osp
import re
import shlex
import sys
import threading
from dataclasses import asdict, dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

LAUNCHERS = ('none', 'pytorch', 'slurm')
# suite keys of the launch (the CLI flags override them)
LAUNCH_KEYS = ('launcher', 'gpus', 'nodes', 'partition', 'slurm_args',
               'cpus_per_task')


class LaunchError(ValueError):
    """Launch settings that cannot work; the message names the setting."""


@dataclass
class LaunchSettings:
    """Where and how a suite's trainings run.

    Args:
        launcher (str): ``none``, ``pytorch`` (torchrun) or ``slurm``.
        gpus (int, optional): GPUs per node; None on a CPU machine (then a
            pytorch-launched unit starts as many processes as its config
            names, talking over gloo).
        nodes (int): Nodes a SLURM unit may span.
        partition (str, optional): SLURM partition (``srun -p``).
        slurm_args (str): More ``srun`` options, as one shell string.
        cpus_per_task (int): ``srun --cpus-per-task`` (slurm_train.sh's 5).
    """
    launcher: str = 'none'
    gpus: Optional[int] = None
    nodes: int = 1
    partition: Optional[str] = None
    slurm_args: str = ''
    cpus_per_task: int = 5

    def __post_init__(self):
        if self.launcher not in LAUNCHERS:
            raise LaunchError(f'launcher must be one of {LAUNCHERS}, got '
                              f'{self.launcher!r}')
        if self.gpus is not None and self.gpus < 1:
            raise LaunchError(f'gpus (per node) must be >= 1, got {self.gpus}')
        if self.nodes < 1:
            raise LaunchError(f'nodes must be >= 1, got {self.nodes}')
        if self.nodes > 1 and self.launcher != 'slurm':
            raise LaunchError(
                f'nodes={self.nodes} needs launcher slurm (a suite starts '
                f'torchrun on its own node only), got {self.launcher!r}')
        if self.launcher == 'slurm' and not self.partition:
            raise LaunchError('launcher slurm needs a partition (srun -p)')

    @classmethod
    def from_suite(cls, suite, **overrides) -> 'LaunchSettings':
        """The suite's launch keys, overridden by the non-None
        ``overrides`` (the command line's flags)."""
        values = {key: suite[key] for key in LAUNCH_KEYS
                  if suite.get(key) is not None}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def unit_devices(self, named: int) -> int:
        """Devices a unit whose config names ``named`` runs on."""
        if self.launcher == 'none':
            return 1
        if self.gpus is None:  # torchrun on CPU: the processes it names
            return named
        return max(1, min(named, self.gpus * self.nodes))


@dataclass
class BatchPlan:
    """A training's devices, batch and learning rate (the one rule above).

    Attributes:
        devices (int): Processes (GPUs) the training runs on.
        named_devices (int): Devices the config is written for.
        per_device_batch (int): ``train_dataloader.batch_size``.
        total_batch (int): ``devices * per_device_batch``.
        config_total_batch (int): ``named_devices * per_device_batch``.
        lr (float | dict): The optimizer's lr after scaling (one per
            optimizer of an optim wrapper dict).
        config_lr (float | dict): The config's lr.
        launcher (str): How it ran.
        options (list[str]): ``--cfg-options`` that apply the rule.
    """
    devices: int
    named_devices: int
    per_device_batch: int
    total_batch: int
    config_total_batch: int
    lr: object
    config_lr: object
    launcher: str = 'none'
    options: List[str] = field(default_factory=list)

    @property
    def scaled(self) -> bool:
        return self.total_batch != self.config_total_batch

    def record(self) -> dict:
        """What result.json keeps."""
        record = asdict(self)
        record.pop('options')
        record['lr_scaled'] = self.scaled
        return record



def devices_of(cfg, config_path: str) -> Tuple[int, str]:
    """Devices a config's schedule is written for.

    OpenMMLab's naming (``..._8xb16-200e_...``: 8 devices of batch 16) when
    the file name has it, else ``auto_scale_lr.base_batch_size`` (the
    global batch the schedule was tuned for) over the per-device batch,
    else one.
    """
    batch = int(cfg.train_dataloader.batch_size)
    named = re.search(r'(?:^|[_-])(\d+)xb(\d+)', osp.basename(config_path))
    if named:
        return int(named.group(1)), 'config name'
    base = cfg.get('auto_scale_lr', {}).get('base_batch_size')
    if base and base % batch == 0 and base > batch:
        return base // batch, 'auto_scale_lr'
    return 1, 'default'

def optimizer_lrs(optim_wrapper) -> Dict[str, float]:
    """Every ``optimizer.lr`` of an optim wrapper config (key ``''`` for a
    single optimizer, the wrapper's name in an optim wrapper dict)."""
    found = {}

    def visit(node, name):
        if not isinstance(node, dict):
            return
        optimizer = node.get('optimizer')
        if isinstance(optimizer, dict) and 'lr' in optimizer:
            found[name] = float(optimizer['lr'])
        for key, value in node.items():
            if key != 'optimizer' and isinstance(value, dict):
                visit(value, f'{name}.{key}' if name else key)

    visit(optim_wrapper or {}, '')
    return found


def lr_value(lrs: Dict[str, float]):
    """One optimizer's lr as a number, several as a dict, none as None."""
    if list(lrs) == ['']:
        return lrs['']
    return lrs or None


def named_devices(cfg, config_path: str) -> int:
    """Devices a config is written for: N of OpenMMLab's ``NxbM`` in its
    file name, else one (a pruned export's fine-tune config, a demo
    config: the planner's reading of ``auto_scale_lr`` is a cost estimate,
    not a launch)."""
    devices, source = devices_of(cfg, config_path)
    return devices if source == 'config name' else 1


def plan_batch(cfg, config_path: str, devices: int,
               launcher: str = 'none') -> BatchPlan:
    """The devices, batch and lr of ``cfg`` (with its options merged)
    trained on ``devices``.

    Args:
        cfg (Config): The training config, options applied.
        config_path (str): Its file (``NxbM`` is read from the name).
        devices (int): Processes the training runs on.
        launcher (str): Recorded.
    """
    named = named_devices(cfg, config_path)
    batch = int(cfg.train_dataloader.batch_size)
    total, config_total = devices * batch, named * batch
    lrs = optimizer_lrs(cfg.get('optim_wrapper'))
    options = []
    scaled_lrs = dict(lrs)
    if total != config_total:
        # mmengine's Runner.scale_lr: lr * real batch / base_batch_size
        options = ['auto_scale_lr.enable=True',
                   f'auto_scale_lr.base_batch_size={config_total}']
        scaled_lrs = {k: v * total / config_total for k, v in lrs.items()}
    return BatchPlan(devices=devices, named_devices=named,
                     per_device_batch=batch, total_batch=total,
                     config_total_batch=config_total,
                     lr=lr_value(scaled_lrs), config_lr=lr_value(lrs),
                     launcher=launcher, options=options)


def train_command(settings: LaunchSettings, devices: int,
                  train_args: List[str], job_name: str = 'astro_mm',
                  python: str = sys.executable) -> List[str]:
    """The command line that trains ``tools/train.py TRAIN_ARGS`` on
    ``devices`` as ``settings`` say."""
    if settings.launcher == 'slurm':
        per_node = min(devices, settings.gpus or devices)
        return (['srun', '-p', settings.partition, f'--job-name={job_name}',
                 f'--gres=gpu:{per_node}', f'--ntasks={devices}',
                 f'--ntasks-per-node={per_node}',
                 f'--cpus-per-task={settings.cpus_per_task}',
                 '--kill-on-bad-exit=1'] + shlex.split(settings.slurm_args) +
                [python, '-u', 'tools/train.py'] + train_args +
                ['--launcher', 'slurm'])
    if settings.launcher == 'pytorch' and devices > 1:
        # --standalone: a free port per job, so units run side by side
        return ([python, '-m', 'torch.distributed.run', '--standalone',
                 f'--nproc_per_node={devices}', 'tools/train.py'] +
                train_args + ['--launcher', 'pytorch'])
    return [python, 'tools/train.py'] + train_args


class GpuPool:
    """The GPUs of this node, handed out as disjoint sets to the units
    running at once (a unit waits until enough are free).

    Args:
        ids (list[str]): GPU ids (``CUDA_VISIBLE_DEVICES``' entries).
    """

    def __init__(self, ids: List[str]):
        self.ids = list(ids)
        self._free = list(ids)
        self._condition = threading.Condition()

    @classmethod
    def for_node(cls, gpus: int) -> 'GpuPool':
        """``gpus`` GPUs: the first of ``CUDA_VISIBLE_DEVICES`` when it is
        set (a node shared with other jobs), else ``0 .. gpus-1``."""
        visible = [i for i in os.environ.get('CUDA_VISIBLE_DEVICES',
                                             '').split(',') if i.strip()]
        if visible and len(visible) < gpus:
            raise LaunchError(f'gpus={gpus} but CUDA_VISIBLE_DEVICES lists '
                              f'only {visible}')
        return cls(visible[:gpus] if visible else
                   [str(i) for i in range(gpus)])

    @contextlib.contextmanager
    def acquire(self, count: int) -> Iterator[Dict[str, str]]:
        """Hold ``count`` free GPUs; yields the environment that shows the
        process only them."""
        if count > len(self.ids):
            raise LaunchError(f'a unit needs {count} GPUs; the node has '
                              f'{len(self.ids)} (gpus)')
        with self._condition:
            while len(self._free) < count:
                self._condition.wait()
            taken, self._free = self._free[:count], self._free[count:]
        try:
            yield dict(CUDA_VISIBLE_DEVICES=','.join(taken))
        finally:
            with self._condition:
                self._free += taken
                self._condition.notify_all()


def total_batch_flag(results: List[dict]) -> Optional[str]:
    """A table row's flag when its units trained at another total batch
    than their config's (see :class:`BatchPlan`), else None."""
    launches = [r['launch'] for r in results if r.get('launch')]
    off = sorted({(launch['total_batch'], launch['config_total_batch'])
                  for launch in launches
                  if launch['total_batch'] != launch['config_total_batch']})
    if not off:
        return None
    return ', '.join(f'batch {total} (config {config})'
                     for total, config in off)
