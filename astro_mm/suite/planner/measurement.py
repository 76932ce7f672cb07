"""Timing a unit's training steps: the runner the config asks for, built as
``tools/train.py`` builds it, a few of the model's own ``train_step`` calls
per phase of Algorithm 1, and the peak memory of it all.

Each unit is measured in a fresh Python process by default
(:func:`measure_in_subprocess`, whose child is ``python -m
astro_mm.suite.planner``), so its peak memory is its own.
"""
import copy
import gc
import itertools
import json
import logging
import os
import os.path as osp
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from .facts import PlanError, alternation_hook_of, dataset_facts, \
    warmup_rounds_of
from .schedule import first_round_of
from .synthetic import SyntheticBatches, pad_small_swin_maps
from astro_mm.engine.hooks.alternation_hook import AlternationHook
from astro_mm.apis import build_runner

# numbers the runners this process builds (their loggers and visualizers
# are per name for the whole process)
_RUNNER_NAMES = itertools.count()
# the line of a measuring subprocess that carries its result
RESULT_MARK = 'astro_mm-plan-measurement: '


def _proc_status(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


class PeakMemory:
    """Peak memory of a block of work on ``device``.

    On a GPU: ``torch.cuda.max_memory_allocated`` (the tensors: weights,
    gradients, optimizer state, activations), its counter reset at the
    start. On a CPU (Linux): the peak resident set size of the process
    (VmHWM, reset at the start through ``/proc/self/clear_refs``) above
    the resident size at the start. Without ``clear_refs``: the process's
    ``ru_maxrss`` above the resident size at the start, which is a lower
    bound after a larger block (it cannot be reset).
    """

    def __init__(self, device: str):
        self.device = device
        self.peak_bytes: Optional[int] = None

    @staticmethod
    def _can_reset() -> bool:
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
            return True
        except OSError:
            return False

    @classmethod
    def describe(cls, device: str, isolated: bool = True) -> str:
        """How the peak is measured, for the table."""
        if device == 'cuda':
            return 'torch.cuda.max_memory_allocated'
        if platform.system() == 'Linux' and osp.exists('/proc/self/status') \
                and cls._can_reset():
            how = 'peak RSS (VmHWM, reset per config) - RSS before the build'
        else:
            how = 'ru_maxrss - RSS before the build (not resettable)'
        if isolated:
            return how + ', one fresh process per config'
        return how + (', all configs in one process (the allocator reuses '
                      'memory freed by earlier configs: a lower bound)')

    def __enter__(self):
        import torch
        gc.collect()
        if self.device == 'cuda':
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        else:
            self.resettable = self._can_reset()
            # without /proc (not Linux) ru_maxrss is all there is
            self.base = _proc_status('VmRSS') \
                if osp.exists('/proc/self/status') else 0
        return self

    def __exit__(self, *exc):
        import torch
        if self.device == 'cuda':
            torch.cuda.synchronize()
            self.peak_bytes = torch.cuda.max_memory_allocated()
        elif self.resettable:
            self.peak_bytes = max(_proc_status('VmHWM') - self.base, 0)
        else:
            # ru_maxrss is in KiB on Linux
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            self.peak_bytes = max(peak - self.base, 0)
        return False



@dataclass
class Measurement:
    """Timed training steps of one built config.

    Attributes:
        seconds (dict): phase -> seconds per step (median of the timed).
        peak_mb (float): Peak memory, MiB (see :class:`PeakMemory`).
        input_shape (str): The batch the model sees (after its data
            preprocessor), e.g. ``16x3x32x32``.
    """
    seconds: Dict[str, float]
    peak_mb: float
    input_shape: str

    def to_dict(self) -> dict:
        return dict(vars(self))

    @classmethod
    def from_dict(cls, data: dict) -> 'Measurement':
        return cls(**data)

    def seconds_per_iter(self, phases: Dict[str, int]) -> float:
        """Seconds per step, weighted by the schedule's phases."""
        total = sum(phases.values())
        return sum(self.seconds[p] * n for p, n in phases.items()) / total

    @property
    def unmodulated_seconds(self) -> float:
        """A plain W-step (what a fine-tune costs)."""
        for phase in ('warmup', 'tnet', 'batch', 'phi'):
            if phase in self.seconds:
                return self.seconds[phase]
        raise KeyError('no phase measured')


def _shape_of(inputs) -> str:
    if hasattr(inputs, 'shape'):
        return 'x'.join(str(s) for s in inputs.shape)
    views = [_shape_of(view) for view in inputs]
    return f'{len(views)} views of ' + views[0] if views else '?'


@dataclass(frozen=True)
class StepTiming:
    """How a unit's steps are timed and on what inputs.

    Attributes:
        device (str): ``'cuda'`` or ``'cpu'``.
        iters (int): Timed steps per phase.
        warmup (int): Untimed steps before them, per phase.
        batch_size (int, optional): Smoke-test mode: this batch instead of
            the config's.
        image_size (int, optional): Smoke-test mode: square images of this
            size, the pipeline's resizes and crops dropped.
    """
    device: str
    iters: int
    warmup: int
    batch_size: Optional[int] = None
    image_size: Optional[int] = None

    def arguments(self) -> List[str]:
        """The command-line flags of the measuring subprocess."""
        args = ['--iters', str(self.iters), '--warmup', str(self.warmup)]
        if self.batch_size is not None:
            args += ['--batch-size', str(self.batch_size)]
        if self.image_size is not None:
            args += ['--image-size', str(self.image_size)]
        return args


def measure_in_subprocess(suite_file: str, run, root: str, work_dir: str,
                          timing: StepTiming) -> Measurement:
    """:func:`measure_config` of one run of a suite in a fresh Python
    process (``python -m astro_mm.suite.planner``)."""
    args = [sys.executable, '-m', 'astro_mm.suite.planner', suite_file,
            run.name, '--root', root, '--work-dir', work_dir
            ] + timing.arguments()
    proc = subprocess.run(args, cwd=os.getcwd(), capture_output=True,
                          text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines or \
            not lines[-1].startswith(RESULT_MARK):
        tail = '\n'.join((proc.stdout + proc.stderr).splitlines()[-25:])
        raise PlanError(f'measuring run {run.name} ({run.config}) failed '
                        f'(exit {proc.returncode}):\n{tail}')
    return Measurement.from_dict(json.loads(lines[-1][len(RESULT_MARK):]))


def _config_to_time(cfg, timing: StepTiming):
    """A copy of ``cfg`` set up to be built in this process for timing
    (no launcher, checkpoint or resume; loggers of its own)."""
    cfg = copy.deepcopy(cfg)
    cfg.train_dataloader.batch_size = \
        timing.batch_size or int(cfg.train_dataloader.batch_size)
    if timing.image_size is not None:
        pad_small_swin_maps(cfg.model)
    cfg.launcher = 'none'
    cfg.log_level = 'WARNING'
    cfg.load_from = None
    cfg.resume = False
    # mmengine keeps loggers and visualizers per name for the process:
    # a name of its own gives this runner its own, writing into its own
    # (temporary) work dir
    cfg.experiment_name = f'plan_{os.getpid()}_{next(_RUNNER_NAMES)}'
    if cfg.get('visualizer') is not None:
        cfg.visualizer.name = cfg.experiment_name
    return cfg


def _check_built(runner, algorithm, cfg, config_path: str,
                 warmup_rounds: Optional[int]) -> None:
    """The built runner is the config's: an alternating model iff the
    config names one, and its AlternationHook as in ``custom_hooks``."""
    if hasattr(algorithm, 'set_round') != (warmup_rounds is not None):
        raise PlanError(
            f'{config_path}: the built model '
            f'{type(algorithm).__name__} and the config\'s model '
            f'type {cfg.model.get("type")} disagree')
    hook = next((h for h in runner.hooks
                 if isinstance(h, AlternationHook)), None)
    expected = alternation_hook_of(cfg)
    if _settings(hook) != _settings(expected):
        raise PlanError(
            f'{config_path}: the runner\'s AlternationHook differs '
            'from the config\'s custom_hooks')


def _settings(hook: Optional[AlternationHook]) -> Optional[tuple]:
    return hook and (hook.round_unit, hook.round_interval, hook.alternation)


def measure_config(cfg, config_path: str, phases: Dict[str, int],
                   timing: StepTiming) -> Measurement:
    """Build the runner of ``cfg`` as tools/train.py does and time each of
    ``phases``.

    Args:
        cfg (Config): The unit's config (its options merged).
        config_path (str): Its file, for the messages.
        phases (dict): phase -> steps of its schedule (the keys are timed).
        timing (StepTiming): How many steps, on what inputs.
    """
    import torch
    from mmengine.model import is_model_wrapper

    facts, _ = dataset_facts(cfg.train_dataloader.dataset)
    warmup_rounds = warmup_rounds_of(cfg)
    cfg = _config_to_time(cfg, timing)
    with tempfile.TemporaryDirectory(prefix='astro_mm_plan_') as tmp, \
            PeakMemory(timing.device) as memory:
        cfg.work_dir = tmp
        runner = build_runner(cfg)
        model = runner.model
        algorithm = model.module if is_model_wrapper(model) else model
        _check_built(runner, algorithm, cfg, config_path, warmup_rounds)
        optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
        optim_wrapper.initialize_count_status(model, 0, sum(phases.values()))
        batches = SyntheticBatches(cfg, facts,
                                   cfg.train_dataloader.batch_size,
                                   timing.image_size, seed=0)
        data = [batches() for _ in range(min(timing.iters + timing.warmup,
                                             4))]
        with torch.no_grad():
            seen = model.data_preprocessor(copy.deepcopy(data[0]), True)
        input_shape = _shape_of(seen['inputs'])
        model.train()
        seconds = {}
        for phase in phases:
            if warmup_rounds is not None:
                algorithm.set_round(first_round_of(phase, warmup_rounds),
                                    per_batch=phase == 'batch')
            seconds[phase] = time_steps(runner, optim_wrapper, data, timing)
        close_log_files(runner)
        del runner, model, algorithm, optim_wrapper
    return Measurement(seconds, memory.peak_bytes / 2**20, input_shape)


def time_steps(runner, optim_wrapper, data: List[dict],
               timing: StepTiming) -> float:
    """Seconds per ``train_step`` after ``timing.warmup`` untimed ones: the
    median of the timed steps (a step that another process slowed down
    does not move it)."""
    import torch
    sync = torch.cuda.synchronize if timing.device == 'cuda' else \
        (lambda: None)
    times = []
    for i in range(timing.warmup + timing.iters):
        # what the train loop tells the model (BoxInst's warm-up reads
        # the iteration from the message hub)
        runner.message_hub.update_info('iter', i)
        sync()
        start = time.perf_counter()
        runner.model.train_step(copy.copy(data[i % len(data)]),
                                optim_wrapper)
        sync()
        if i >= timing.warmup:
            times.append(time.perf_counter() - start)
    return float(np.median(times))


def close_log_files(runner) -> None:
    """The runner's log file lives in a temporary work dir."""
    for handler in list(runner.logger.handlers):
        if isinstance(handler, logging.FileHandler):
            handler.close()
            runner.logger.removeHandler(handler)
