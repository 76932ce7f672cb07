"""Run a suite: train / test / prune / fine-tune / swap / evaluate every
run, resumably.

A pruned row goes train -> prune (tools/prune.py, which recalibrates the
batch norms) -> test as pruned -> fine-tune (tools/train.py on the config
prune wrote, when the suite has ``finetune``) -> test again.

Every step goes through the same ``tools/train.py``, ``tools/test.py`` and
``tools/prune.py`` a user runs, each in a subprocess with its own log, so a
suite measures exactly what the tools do. A unit of work is one (run, seed);
it ends by writing ``WORK_DIR/RUN/seedS/result.json`` (atomically), and a
re-run skips every unit that has one (a cls unit: with every prune tag its
run lists; a tag added later reopens the unit for that tag only). Inside
an unfinished unit, a training that was interrupted resumes from its last
checkpoint (``--resume``), and a test or prune whose output exists is not
repeated: after a crash or Ctrl-C nothing finished is recomputed or lost.

With ``workers`` > 1, that many units run at once, each tool with
``cores // workers`` threads: on a small CPU, two one-thread trainings of a
small network get more done than one two-thread training
(benchmarks/worker_throughput.py measures it). A det unit starts once its
backbone's cls unit has finished. Units start in the order of their
estimated cost, the longest first, so that the workers end together; with
the suite key ``order='listed'``, in the order the suite lists them (a
study longer than a session gets its first rows complete first).

With the suite key ``archive`` (a folder of the repo), a finished unit's
results are also copied there: its ``result.json``, the prune reports, the
P history and the training's scalars (what the table and the figures read),
not its weights. A run in a fresh clone first restores the archived units
into the work dir, so a study longer than one session resumes where the
committed archive stops. An archived unit has no weights (unless its run
has ``archive_weights``): a prune tag added to it later retrains it (same
seed), and a det run cannot take it as its backbone until it has. A unit
is written (and archived) after each of its prune tags too, so a unit of
many tags cut short keeps the tags it finished.
"""
import contextlib
import glob
import shutil
import json
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from astro_mm.compat import atomic_write_bytes, load_checkpoint_file

from .launch import (GpuPool, LaunchSettings, named_devices, plan_batch,
                     train_command)
from .config import SuiteConfigError

BN_STATS = ('running_mean', 'running_var', 'num_batches_tracked')
# mmengine's Config.fromfile is not thread-safe (two worker threads reading
# configs at once failed in its _base_ resolution: make demo, 2026-12-07):
# every config the runner reads in a worker thread is read under this lock
CONFIG_LOCK = threading.Lock()


def read_config(path: str, options: Optional[List[str]] = None):
    """``Config.fromfile(path)`` with ``key=value`` options merged, safe
    to call from the suite's worker threads."""
    from mmengine.config import Config
    with CONFIG_LOCK:
        cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(_options_dict(options))
    return cfg
# what an archived unit keeps (globs relative to its unit dir): everything
# the table and the figures read, nothing they do not (weights, logs)
ARCHIVED_FILES = ('result.json', 'pruned_*.json', 'p_history.npz',
                  '*/vis_data/scalars.json')
# the trained weights, for runs with archive_weights (suite.py)
ARCHIVED_WEIGHTS = 'weights.pth'


def write_json(obj, path: str) -> None:
    atomic_write_bytes(json.dumps(obj, indent=2).encode(), path)


def read_json(path: str):
    with open(path) as f:
        return json.load(f)


def checkpoint_params(checkpoint: str, prefix: str = '') -> int:
    """Learnable parameters in a checkpoint (batch-norm statistics and any
    non-``prefix`` key left out)."""
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    state = state.get('state_dict', state)
    return sum(v.numel() for k, v in state.items()
               if k.startswith(prefix) and not k.endswith(BN_STATS))


def _options_dict(options: List[str]) -> dict:
    """``key=value`` strings as mmengine's DictAction parses them."""
    from mmengine.config import DictAction
    parsed = {}
    for option in options:
        key, _, value = option.partition('=')
        parsed[key] = DictAction._parse_iterable(value)
    return parsed


def machine_record() -> dict:
    """What a unit's result.json keeps of the machine that ran it: the CPU's
    vector capability, and whether it computes bfloat16 natively (where it
    does not, an autocast config trained in float32: AutocastOptimWrapper)."""
    import torch
    from astro_mm.engine.optimizers.autocast_optim_wrapper import \
        native_bfloat16
    return dict(cpu_capability=torch.backends.cpu.get_cpu_capability(),
                native_bfloat16=native_bfloat16('cpu'),
                cuda=torch.cuda.is_available())


def machine_mix_warning(results: Dict[str, List[dict]]) -> Optional[str]:
    """A warning when a suite's units ran on machines that differ in native
    bfloat16 (a study resumed on another machine): its bfloat16-autocast
    rows then trained in two precisions; None when they do not differ."""
    groups: Dict[str, List[str]] = {}
    for name, unit_results in results.items():
        for result in unit_results:
            native = result.get('machine', {}).get('native_bfloat16')
            groups.setdefault({True: 'with', False: 'without'}.get(
                native, 'unrecorded'), []).append(
                    f'{name} s{result.get("seed")}')
    if len(groups) < 2:
        return None
    return ('units ran on machines that differ in native bfloat16, so a '
            'bfloat16-autocast config trained in float32 on those without '
            'it (AutocastOptimWrapper): ' + '; '.join(
                f'{key} native bfloat16: {", ".join(units)}'
                for key, units in sorted(groups.items())))


class ToolError(RuntimeError):
    """A tool of this repo exited non-zero; the message holds its log tail."""


class SuiteRunner:
    """Runs the units of a suite config (see :mod:`.config`) in order.

    Args:
        cfg (Config): A suite config checked by :func:`.config.load_suite`.
        work_dir (str): Where every run's folder and the tables go.
        root (str): The repo root (tools and configs are relative to it).
        log (callable): Progress printer.
        workers (int, optional): Units run at once (default: the suite's
            ``workers``, else 1).
        launch (LaunchSettings, optional): How trainings are launched
            (default: the suite's launch keys, :mod:`.launch`).
    """

    def __init__(self, cfg, work_dir: str, root: str,
                 log: Callable[[str], None] = print,
                 workers: Optional[int] = None,
                 launch: Optional[LaunchSettings] = None):
        self.cfg = cfg
        self.work_dir = osp.abspath(work_dir)
        self.root = root
        # suites that share runs (MA-Net Tab. 2-4 share their ImageNet
        # pretraining) name one runs folder; by default the work dir
        self.runs_root = osp.join(root, cfg.suite.runs_root) \
            if cfg.suite.get('runs_root') else self.work_dir
        self._print = log
        self.runs = {run.name: run for run in cfg.runs}
        self._durations: List[float] = []
        # when each unit of this process started (its minutes add up)
        self._unit_start: Dict[Tuple[str, int], float] = {}
        self.workers = workers or cfg.suite.get('workers') or 1
        # units already finished when run() started (resumed or restored)
        self.units_done_before = 0
        if self.workers < 1:
            raise ValueError(f'workers must be >= 1, got {self.workers}')
        self._unit = threading.local()  # the unit a worker thread runs
        self.archive = (osp.join(root, cfg.suite.archive)
                        if cfg.suite.get('archive') else None)
        self.launch = launch or LaunchSettings.from_suite(cfg.suite)
        # GPUs of this node shared out to the units running at once (SLURM
        # places its jobs itself)
        self.gpu_pool = (GpuPool.for_node(self.launch.gpus)
                         if self.launch.gpus and
                         self.launch.launcher != 'slurm' else None)

    def log(self, message: str) -> None:
        """Print, prefixed with the unit when several run at once."""
        unit = getattr(self._unit, 'name', None)
        self._print(f'({unit}) {message}' if unit else message)

    # ------------------------------------------------------------- layout
    def units(self) -> List[Tuple[dict, int]]:
        """Every (run, seed), cls runs first (det runs need their output)."""
        ordered = sorted(self.cfg.runs, key=lambda r: r.task != 'cls')
        return [(run, seed) for run in ordered for seed in run.seeds]

    def unit_dir(self, run_name: str, seed: int) -> str:
        return osp.join(self.runs_root, run_name, f'seed{seed}')

    def result_file(self, run_name: str, seed: int) -> str:
        return osp.join(self.unit_dir(run_name, seed), 'result.json')

    def is_done(self, run_name: str, seed: int) -> bool:
        """Whether the unit's result exists and holds every prune tag the
        run now lists (a tag added to a finished run reopens its unit; the
        unit's finished steps are kept on disk and not recomputed)."""
        if not osp.isfile(self.result_file(run_name, seed)):
            return False
        run = self.runs.get(run_name)
        if run is None or run.task != 'cls':
            return True
        result = self.result(run_name, seed)
        missing_finetune = (run.finetune_unpruned and self.cfg.suite.finetune
                            and 'top1_finetuned' not in result)
        return set(run.prune) <= set(result.get('pruned', {})) and \
            not missing_finetune

    def result(self, run_name: str, seed: int) -> dict:
        return read_json(self.result_file(run_name, seed))

    def check_unit_configs(self) -> None:
        """Refuse a unit whose result came from another config than its
        run now names (its table row would quietly mean the old config, and
        its checkpoints would resume into the new one).

        Results written before the runner recorded the config carry none and
        are taken as they are.

        Raises:
            SuiteConfigError: The recorded config or cfg_options differ.
        """
        for run, seed in self.units():
            if osp.isfile(self.result_file(run.name, seed)):
                self._check_unit_config(run, seed)

    def _check_unit_config(self, run, seed: int) -> None:
        result = self.result(run.name, seed)
        recorded = (result.get('config'), result.get('cfg_options', []))
        suite_options = list(self.cfg.suite.get('cfg_options', []))
        # results written before the suite-wide options were recorded are
        # taken as they are (the study that added them says what they ran)
        if 'suite_cfg_options' in result and \
                result['suite_cfg_options'] != suite_options:
            raise SuiteConfigError(
                f'unit {run.name} seed {seed} in '
                f'{self.unit_dir(run.name, seed)} was run with the suite\'s '
                f'cfg_options {result["suite_cfg_options"]}; the suite now '
                f'names {suite_options}. Move that folder away to rerun it, '
                'or restore the old suite.cfg_options')
        if recorded[0] is None or recorded == (run.config,
                                                list(run.cfg_options)):
            return
        raise SuiteConfigError(
            f'unit {run.name} seed {seed} in '
            f'{self.unit_dir(run.name, seed)} was run with config '
            f'{recorded[0]} (cfg_options {recorded[1]}); the suite now names '
            f'{run.config} (cfg_options {list(run.cfg_options)}). Move that '
            'folder away (or use another --work-dir) to rerun it, or restore '
            'the old config to reprint it')

    # ------------------------------------------------------------ archive
    def archive_dir(self, run_name: str, seed: int) -> str:
        return osp.join(self.archive, run_name, f'seed{seed}')

    def archive_unit(self, run_name: str, seed: int) -> None:
        """Copy a finished unit's results into the archive (replacing
        what an earlier version of the unit left there)."""
        source = self.unit_dir(run_name, seed)
        target = self.archive_dir(run_name, seed)
        staging = target + '.partial'
        shutil.rmtree(staging, ignore_errors=True)
        for pattern in ARCHIVED_FILES:
            for path in glob.glob(osp.join(source, pattern)):
                relative = osp.relpath(path, source)
                os.makedirs(osp.dirname(osp.join(staging, relative)),
                            exist_ok=True)
                shutil.copy2(path, osp.join(staging, relative))
        run = self.runs.get(run_name)
        done = osp.join(source, 'train_done.json')
        if run is not None and run.get('archive_weights') and \
                osp.isfile(done):
            self._archive_weights(read_json(done)['checkpoint'],
                                  osp.join(staging, ARCHIVED_WEIGHTS))
        # swapped in whole: an interrupted copy never looks finished
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)

    @staticmethod
    def _archive_weights(checkpoint: str, target: str) -> None:
        """The trained checkpoint without what only resuming its training
        needs (optimizer, schedulers, message hub)."""
        import torch
        state = load_checkpoint_file(checkpoint, map_location='cpu')
        os.makedirs(osp.dirname(target), exist_ok=True)
        torch.save({key: state[key] for key in ('meta', 'state_dict')
                    if key in state}, target)

    def restore_archived(self) -> int:
        """Copy archived units that the work dir lacks into it; return how
        many were restored."""
        if not self.archive:
            return 0
        restored = 0
        for run, seed in self.units():
            archived = self.archive_dir(run.name, seed)
            if (osp.isfile(osp.join(archived, 'result.json')) and
                    not osp.isfile(self.result_file(run.name, seed))):
                unit_dir = self.unit_dir(run.name, seed)
                shutil.copytree(archived, unit_dir, dirs_exist_ok=True)
                weights = osp.join(unit_dir, ARCHIVED_WEIGHTS)
                if osp.isfile(weights):  # the training need not run again
                    write_json(dict(checkpoint=weights, launch=read_json(
                        self.result_file(run.name, seed)).get('launch')),
                        osp.join(unit_dir, 'train_done.json'))
                restored += 1
        if restored:
            self.log(f'{restored} units restored from the archive '
                     f'{osp.relpath(self.archive, self.root)} (results, and '
                     'the weights of runs with archive_weights)')
        return restored

    # ------------------------------------------------------------ running
    def run(self) -> Dict[str, List[dict]]:
        """Run what is not finished; return every run's per-seed results."""
        self.restore_archived()
        units = self.units()
        self.check_unit_configs()
        todo = [(r, s) for r, s in units if not self.is_done(r.name, s)]
        self.units_done_before = len(units) - len(todo)
        self.log(f'{len(units)} units ({len(units) - len(todo)} finished '
                 f'before, {len(todo)} to run) in {self.work_dir}' +
                 (f', {self.workers} at a time' if self.workers > 1 else ''))
        if self.workers == 1:
            for index, (run, seed) in enumerate(todo):
                self.log(f'[{len(units) - len(todo) + index + 1}/'
                         f'{len(units)}] {run.name} seed {seed} ({run.task});'
                         f' {self._eta(len(todo) - index)}')
                self._run_unit(run, seed)
        else:
            self._run_parallel(todo, len(units))
        return {
            run.name: [self.result(run.name, s) for s in run.seeds]
            for run in self.cfg.runs
        }

    def _run_unit(self, run, seed: int) -> None:
        start = self._unit_start[run.name, seed] = time.time()
        os.makedirs(self.unit_dir(run.name, seed), exist_ok=True)
        # a finished unit reopened by a new prune tag keeps what it measured
        previous = (self.result(run.name, seed) if osp.isfile(
            self.result_file(run.name, seed)) else {})
        result = (self._run_cls(run, seed, previous) if run.task == 'cls'
                  else self._run_det(run, seed))
        self._write_result(run, seed, result, previous)
        self._durations.append(time.time() - start)

    def _write_result(self, run, seed: int, result: dict,
                      previous: dict) -> None:
        """Write the unit's ``result.json`` (what ran it: config, machine,
        commit, minutes so far) and archive it. Called after every prune
        tag and at the end: a result missing tags is a unit still to
        finish (:meth:`is_done`)."""
        start = self._unit_start.get((run.name, seed), time.time())
        done = osp.join(self.unit_dir(run.name, seed), 'train_done.json')
        result['launch'] = (read_json(done).get('launch') if osp.isfile(done)
                            else previous.get('launch'))
        result.update(run=run.name, seed=seed, config=run.config,
                      cfg_options=list(run.cfg_options),
                      suite_cfg_options=list(
                          self.cfg.suite.get('cfg_options', [])),
                      machine=machine_record(), commit=self.commit(),
                      minutes=round(previous.get('minutes', 0.) +
                                    (time.time() - start) / 60, 2))
        write_json(result, self.result_file(run.name, seed))
        if self.archive:
            self.archive_unit(run.name, seed)

    def commit(self) -> Optional[str]:
        """The repo's commit the unit ran at (``+dirty`` when the working
        tree had uncommitted changes), or None outside a git checkout: a
        study run in parts says which code made each unit."""
        def git(*args):
            return subprocess.run(['git', *args], cwd=self.root,
                                  capture_output=True, text=True)
        head = git('rev-parse', 'HEAD')
        if head.returncode != 0:
            return None
        dirty = git('status', '--porcelain', '--untracked-files=no').stdout
        return head.stdout.strip() + ('+dirty' if dirty.strip() else '')

    def unit_cost(self, run) -> float:
        """A rough cost of one unit, in trainings of a plain network: what
        orders the units of a parallel run (the longest first)."""
        if run.task == 'det':
            return 1.0
        training = 1.0 if run.method == 'plain' else 1.6
        finetunes = len(run.prune) + bool(run.get('finetune_unpruned'))
        return training + (0.3 * finetunes if self.cfg.suite.finetune else
                           0.05 * finetunes)

    def _run_parallel(self, todo: List[Tuple[dict, int]], total: int) -> None:
        """Run ``todo`` on ``self.workers`` threads, each driving its tools'
        subprocesses; a det unit waits for its backbone's cls unit."""
        if self.cfg.suite.get('order', 'cost') == 'listed':
            pending = list(todo)  # units(): cls runs first, as listed
        else:
            pending = sorted(todo, key=lambda unit: (
                unit[0].task != 'cls', -self.unit_cost(unit[0])))
        condition = threading.Condition()
        running: List[Tuple[str, int]] = []
        errors: List[BaseException] = []
        started = [total - len(todo)]

        def ready(run, seed) -> bool:
            if run.task == 'cls':
                return True
            source = run.backbone.partition(':')[0]
            seeds = self.runs[source].seeds
            return self.is_done(source, seed if seed in seeds else seeds[0])

        def worker():
            while True:
                with condition:
                    while True:
                        if errors or not pending:
                            return
                        unit = next((u for u in pending if ready(*u)), None)
                        if unit is not None:
                            break
                        if not running:  # nothing will make one ready
                            errors.append(RuntimeError(
                                'det units wait for backbones that no unit '
                                f'produces: {[u[0].name for u in pending]}'))
                            condition.notify_all()
                            return
                        condition.wait()
                    pending.remove(unit)
                    running.append((unit[0].name, unit[1]))
                    started[0] += 1
                    index = started[0]
                run, seed = unit
                self._unit.name = f'{run.name} s{seed}'
                self.log(f'[{index}/{total}] start ({run.task}); '
                         f'{self._eta(len(pending) + len(running))}')
                try:
                    self._run_unit(run, seed)
                    self.log('done')
                except BaseException as error:  # noqa: B902 (re-raised)
                    self.log(f'failed: {error}')
                    with condition:
                        errors.append(error)
                finally:
                    self._unit.name = None
                    with condition:
                        running.remove((run.name, seed))
                        condition.notify_all()

        threads = [threading.Thread(target=worker, daemon=True)
                   for _ in range(self.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def _eta(self, left: int) -> str:
        if not self._durations:
            return f'{left} left'
        minutes = (left * sum(self._durations) / len(self._durations) / 60 /
                   self.workers)
        return f'{left} left, ETA {minutes:.0f} min'

    def _tool(self, args: List[str], log_file: str,
              command: Optional[List[str]] = None, gpus: int = 1) -> None:
        """Run ``python ARGS`` (or ``command``, a launcher's) with
        ``gpus`` GPUs of the pool when the node's GPUs are shared out."""
        os.makedirs(osp.dirname(log_file), exist_ok=True)
        env = dict(os.environ, PYTHONUNBUFFERED='1')
        if self.workers > 1:  # the workers share the cores
            threads = str(max(1, (os.cpu_count() or 1) // self.workers))
            env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        devices = (self.gpu_pool.acquire(gpus) if self.gpu_pool else
                   contextlib.nullcontext({}))
        with devices as visible, open(log_file, 'w') as f:
            env.update(visible)
            proc = subprocess.run(command or [sys.executable] + args,
                                  cwd=self.root, stdout=f,
                                  stderr=subprocess.STDOUT, env=env)
        if proc.returncode != 0:
            with open(log_file) as f:
                tail = ''.join(f.readlines()[-25:])
            raise ToolError(f'{" ".join(args[:2])} exited {proc.returncode}; '
                            f'last lines of {log_file}:\n{tail}')

    def _train(self, config: str, unit_dir: str, options: List[str]) -> str:
        """Train (resuming an interrupted run); return the final checkpoint."""
        done_file = osp.join(unit_dir, 'train_done.json')
        if osp.isfile(done_file):
            return read_json(done_file)['checkpoint']
        args = ['tools/train.py', config, '--work-dir', unit_dir]
        if osp.isfile(osp.join(unit_dir, 'last_checkpoint')):
            self.log('  resuming the interrupted training')
            args.append('--resume')
        batch = self.batch_plan(config, options)
        self.log(f'  training on {batch.devices} device(s), total batch '
                 f'{batch.total_batch} (log: {unit_dir}/train.log)'
                 if batch else f'  training (log: {unit_dir}/train.log)')
        args += ['--cfg-options'] + options + (batch.options if batch else [])
        job_name = '-'.join([self.cfg.suite.name] + osp.relpath(
            unit_dir, self.runs_root).split(os.sep))
        devices = batch.devices if batch else 1
        command = train_command(self.launch, devices, args[1:],
                                job_name=job_name)
        # a plain one-process training is called as every other tool
        launched = ({} if command == [sys.executable] + args else
                    dict(command=command, gpus=devices))
        self._tool(args, osp.join(unit_dir, 'train.log'), **launched)
        with open(osp.join(unit_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        write_json(dict(checkpoint=checkpoint,
                        launch=batch.record() if batch else None), done_file)
        return checkpoint

    def batch_plan(self, config: str, options: List[str]):
        """Devices, batch and lr of a training of ``config`` under the
        suite's launch (:func:`.launch.plan_batch`); None for a config file
        that does not exist (tools/train.py then says so)."""
        if not osp.isfile(osp.join(self.root, config)):
            return None
        cfg = read_config(osp.join(self.root, config), options)
        devices = self.launch.unit_devices(named_devices(cfg, config))
        return plan_batch(cfg, config, devices, self.launch.launcher)

    def _test(self, config: str, checkpoint: str, test_dir: str,
              options: List[str], split: str = 'test') -> dict:
        metrics_file = osp.join(test_dir, 'metrics.json')
        if not osp.isfile(metrics_file):
            self.log(f'  testing on {split} (log: {test_dir}/test.log)')
            args = ['tools/test.py', config, checkpoint, '--work-dir', test_dir]
            if split != 'test':
                args += ['--split', split]
            if options:
                args += ['--cfg-options'] + options
            self._tool(args, osp.join(test_dir, 'test.log'))
        return read_json(metrics_file)['summary']

    def _validate(self, config: str, checkpoint: str, test_dir: str,
                  options: List[str]) -> Optional[float]:
        """Top-1 on the config's validation split (the suite's
        ``validation``), else None: what a study chooses settings on."""
        if not self.cfg.suite.get('validation'):
            return None
        summary = self._test(config, checkpoint, test_dir + '_val', options,
                             split='val')
        return summary.get('cls', {}).get('top1')

    def unit_options(self, run, seed: int,
                     extra: Sequence[str] = ()) -> List[str]:
        """The ``--cfg-options`` of a unit's tools: its seed, ``extra``,
        the suite's ``cfg_options``, then the run's own (which win)."""
        return ([f'randomness.seed={seed}'] + list(extra) +
                list(self.cfg.suite.get('cfg_options', [])) +
                list(run.cfg_options))

    def _run_cls(self, run, seed: int, previous: Optional[dict] = None
                 ) -> dict:
        unit_dir = self.unit_dir(run.name, seed)
        options = self.unit_options(run, seed)
        checkpoint = self._train(run.config, unit_dir, options)
        summary = self._test(run.config, checkpoint,
                             osp.join(unit_dir, 'test'), options)
        result = dict(checkpoint=checkpoint,
                      top1=summary.get('cls', {}).get('top1'))
        top1_val = self._validate(run.config, checkpoint,
                                  osp.join(unit_dir, 'test'), options)
        if top1_val is not None:
            result['top1_val'] = top1_val
        result.update(self._complexity(run, options))
        if run.finetune_unpruned and self.cfg.suite.finetune:
            result.update(self._finetune_unpruned(
                run, checkpoint, unit_dir, options))
        done = (previous or {}).get('pruned', {})
        result['pruned'] = {}
        for tag, spec in run.prune.items():
            if done.get(tag):
                result['pruned'][tag] = done[tag]
                continue
            result['pruned'][tag] = self._prune(run, tag, spec, checkpoint,
                                                unit_dir, options, result,
                                                seed)
            # each finished tag is written (and archived) at once: a unit
            # of many tags cut short keeps them, and the reading sees them
            self._write_result(run, seed, dict(result), previous or {})
        return result

    def _complexity(self, run, options: List[str]) -> dict:
        """Params of the TNet (no modulator, no CDS heads) and FLOPs of its
        backbone at the suite's input size, from the built model."""
        from .complexity import classifier_complexity
        with CONFIG_LOCK:  # it reads the config (and builds the model)
            return classifier_complexity(
                osp.join(self.root, run.config), options,
                self.cfg.suite.input_size)

    def finetune_args(self, run, options: List[str]) -> List[str]:
        """tools/prune.py options of the suite's fine-tune schedule."""
        spec = self.cfg.suite.finetune
        if not spec:
            return []
        epochs = spec.get('epochs')
        if epochs is None:
            cfg = read_config(osp.join(self.root, run.config), options)
            epochs = max(1, round(spec['share'] * cfg.train_cfg.max_epochs))
        args = ['--finetune-epochs', str(epochs)]
        if spec.get('lr') is not None:
            args += ['--finetune-lr', str(spec['lr'])]
        return args

    def _finetune(self, config: str, unit_dir: str, name: str
                  ) -> Tuple[str, Optional[float], Optional[float]]:
        """Fine-tune with ``config`` (written by tools/prune.py) and test;
        the checkpoint, its top-1, and its validation top-1 (None unless the
        suite has ``validation``)."""
        ft_dir = osp.join(unit_dir, name)
        self.log(f'  fine-tuning {name}')
        # no validation inside: the tests below evaluate the same weights
        checkpoint = self._train(config, ft_dir, ['train_cfg.val_begin=100000'])
        summary = self._test(config, checkpoint, osp.join(ft_dir, 'test'), [])
        top1_val = self._validate(config, checkpoint,
                                  osp.join(ft_dir, 'test'), [])
        return checkpoint, summary.get('cls', {}).get('top1'), top1_val

    def _finetune_unpruned(self, run, checkpoint: str, unit_dir: str,
                           options: List[str]) -> dict:
        """The unpruned network given the same fine-tune as pruned rows."""
        out = osp.join(unit_dir, 'unpruned_finetune.pth')
        if not osp.isfile(out[:-len('.pth')] + '.json'):
            self._tool(['tools/prune.py', run.config, checkpoint, '--out', out,
                        '--method', 'none', '--recalibrate-batches', '0',
                        '--latency-repeats', '1'] +
                       self.finetune_args(run, options) +
                       ['--cfg-options'] + options,
                       osp.join(unit_dir, 'unpruned_finetune.log'))
        _, top1, top1_val = self._finetune(out[:-len('.pth')] + '.py',
                                           unit_dir, 'unpruned_finetuned')
        finetuned = dict(top1_finetuned=top1)
        if top1_val is not None:
            finetuned['top1_val_finetuned'] = top1_val
        return finetuned

    @staticmethod
    def prune_args(spec: dict, seed: int) -> List[str]:
        """tools/prune.py's options for a prune tag: how the units are
        chosen (threshold, or budget in its measure, with the baseline's
        ranking rule), and the unit's seed (the random pruner's, so that its
        channels differ between training seeds as the trainings do)."""
        if 'budget' in spec:
            how = ['--budget', str(spec['budget']), '--cost',
                   spec.get('measure', 'params')]
        elif 'threshold' in spec:
            how = ['--threshold', str(spec['threshold'])]
        else:  # method='early': the channels its training removed
            how = []
        if 'method' in spec:
            how += ['--method', spec['method']]
        if 'rank' in spec:
            how += ['--rank', spec['rank']]
        if spec.get('coupled'):
            how.append('--coupled')
        return how + ['--seed', str(seed)]

    def _prune(self, run, tag: str, spec: dict, checkpoint: str,
               unit_dir: str, options: List[str], unpruned: dict,
               seed: int) -> dict:
        start = time.time()
        out = osp.join(unit_dir, f'pruned_{tag}.pth')
        report_file = out[:-len('.pth')] + '.json'
        if not osp.isfile(report_file):
            how = self.prune_args(spec, seed)
            self.log(f'  pruning {tag} ({" ".join(how)})')
            self._tool(['tools/prune.py', run.config, checkpoint, '--out', out,
                        '--input-size', str(self.cfg.suite.input_size)] + how +
                       self.finetune_args(run, options) +
                       ['--cfg-options'] + options,
                       osp.join(unit_dir, f'prune_{tag}.log'))
        report = read_json(report_file)
        pruned_config = out[:-len('.pth')] + '.py'
        summary = self._test(pruned_config, out,
                             osp.join(unit_dir, f'pruned_{tag}_test'), [])
        top1_val = self._validate(pruned_config, out,
                                  osp.join(unit_dir, f'pruned_{tag}_test'), [])
        finetuned_checkpoint = finetuned = finetuned_val = None
        if self.cfg.suite.finetune and spec.get('finetune', True):
            finetuned_checkpoint, finetuned, finetuned_val = self._finetune(
                pruned_config, unit_dir, f'pruned_{tag}_finetuned')
        removed = report['params_before'] - report['params_after']
        batch16 = report['latency'].get('batch16', {})
        validation = dict(top1_val=top1_val,
                          top1_val_finetuned=finetuned_val) \
            if self.cfg.suite.get('validation') else {}
        return dict(
            checkpoint=out,
            top1=summary.get('cls', {}).get('top1'),
            top1_finetuned=finetuned,
            finetuned_checkpoint=finetuned_checkpoint,
            **validation,
            measure=report.get('measure', spec.get('measure')),
            rank=report.get('rank'),
            threshold=report['threshold'],
            params_M=round(unpruned['params_M'] - removed / 1e6, 4),
            flops_G=round(report['flops_after'] / 1e9, 4),
            params_ratio=report['params_ratio'],
            flops_ratio=report['flops_ratio'],
            latency_ratio=(batch16['after_ms'] / batch16['before_ms']
                           if batch16 else None),
            # prune, tests and fine-tune (of this process, when resumed)
            minutes=round((time.time() - start) / 60, 2))

    def backbone_checkpoint(self, spec: str, seed: int
                            ) -> Tuple[str, Optional[str]]:
        """The weights a det run's backbone takes, and (for a pruned
        backbone) the checkpoint whose meta holds its widths: the pruned
        export, whose fine-tuned weights are taken when there are some."""
        source, _, tag = spec.partition(':')
        seeds = self.runs[source].seeds
        seed = seed if seed in seeds else seeds[0]
        result = self.result(source, seed)
        if tag:
            pruned = result['pruned'][tag]
            weights, widths = (pruned.get('finetuned_checkpoint') or
                               pruned['checkpoint'], pruned['checkpoint'])
        else:
            weights, widths = result['checkpoint'], None
        if not osp.isfile(weights):
            raise FileNotFoundError(
                f'the backbone {spec!r} (seed {seed}) has no weights at '
                f'{weights}: its unit was restored from the archive, which '
                'keeps results only; delete its folder '
                f'{self.unit_dir(source, seed)} and run the suite again to '
                'retrain it')
        return weights, widths

    def _run_det(self, run, seed: int) -> dict:
        unit_dir = self.unit_dir(run.name, seed)
        backbone, widths = self.backbone_checkpoint(run.backbone, seed)
        swap = [f'model.backbone.init_cfg.checkpoint={backbone}']
        if widths:
            swap.append(f'model.backbone.widths={widths}')
        options = self.unit_options(run, seed, swap)
        checkpoint = self._train(run.config, unit_dir, options)
        summary = self._test(run.config, checkpoint,
                             osp.join(unit_dir, 'test'), options)
        return dict(
            checkpoint=checkpoint, backbone_checkpoint=backbone,
            metrics=summary,
            params_M=round(checkpoint_params(checkpoint) / 1e6, 4),
            backbone_params_M=round(
                checkpoint_params(checkpoint, 'backbone.') / 1e6, 4))


def prepare_data(steps, data_root: str = 'data',
                 log: Optional[Callable] = print) -> None:
    """Generate / unpack what a suite's ``prepare`` list asks for."""
    if 'demo_data' in steps:
        from astro_mm.datasets import generate_demo_cifar, generate_demo_coco
        log(f'demo data under {data_root}/ (generated once, seeded)')
        generate_demo_cifar(osp.join(data_root, 'demo_cifar'))
        generate_demo_coco(osp.join(data_root, 'demo_coco'))
    if 'fashion_mnist' in steps:
        from astro_mm.datasets.fashion_mnist import prepare_fashion_mnist
        log('Fashion-MNIST from Debian\'s dataset-fashion-mnist')
        prepare_fashion_mnist()
