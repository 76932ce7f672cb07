"""The cost planner itself: per run of a suite, its config, schedule and
measured step, projected to device-hours (see :mod:`astro_mm.suite.planner`).
"""
import copy
import os
import os.path as osp
import platform
import time
from typing import Callable, Dict, Optional, Tuple

from astro_mm.pruning.rebuild import PRUNED_BACKBONE_TYPES
from ..complexity import _parse_options
from .facts import (PlanError, alternation_hook_of,
                    parse_config, type_name, warmup_rounds_of)
from .measurement import (Measurement, PeakMemory, StepTiming,
                          measure_config, measure_in_subprocess)
from .schedule import Schedule, phase_iterations, schedule_of

# MA-Net Tab. 11's time column is in GPU days per training run.
PAPER_DAYS_KEY = 'gpu_days'


class CostPlanner:
    """Plans a suite: measures each run's training step, projects the
    schedule, and writes the table.

    Args:
        runner (SuiteRunner): The suite's runner (its parsed suite config,
            its layout of runs, the backbone a detector run takes).
        iters (int): Timed steps per phase (default 3).
        warmup (int): Untimed steps before them, per phase (default 1).
        batch_size (int, optional): Smoke-test mode: this batch instead of
            the config's (the hours are then not a projection).
        image_size (int, optional): Smoke-test mode: square images of this
            size, the pipeline's resizes and crops dropped.
        isolate (bool): Measure each config in a fresh process (default):
            its peak memory is its own, and no global state of mmengine
            (scopes, loggers) or of the allocator carries over. False: all
            in this process (faster; CPU memory is then a lower bound).
        cache (dict, optional): Parsed configs and measurements, shared
            between planners (a config is parsed once; runs of the same
            config and options are measured once).
        log (callable): Progress printer.
    """

    def __init__(self, runner, iters: int = 3, warmup: int = 1,
                 batch_size: Optional[int] = None,
                 image_size: Optional[int] = None,
                 isolate: bool = True,
                 cache: Optional[dict] = None,
                 log: Callable[[str], None] = print):
        import torch
        if iters < 1 or warmup < 0:
            raise ValueError(f'need iters >= 1 and warmup >= 0, got {iters} '
                             f'and {warmup}')
        self.runner = runner
        self.iters = iters
        self.warmup = warmup
        self.batch_size = batch_size
        self.image_size = image_size
        self.isolate = isolate
        self.cache = {} if cache is None else cache
        self.log = log
        self.device = 'cuda' if torch.cuda.is_available() else 'cpu'

    # ---------------------------------------------------------- devices
    @property
    def smoke_test(self) -> bool:
        return self.batch_size is not None or self.image_size is not None

    def device_description(self) -> str:
        import torch
        if self.device == 'cuda':
            return (f'GPU: {torch.cuda.get_device_name(0)} (one device, '
                    f'torch {torch.__version__})')
        return (f'CPU: {platform.processor() or platform.machine()}, '
                f'{torch.get_num_threads()} torch threads '
                f'(torch {torch.__version__})')

    # ---------------------------------------------------------- configs
    def run_config(self, run, seed: int):
        """The config a run trains with (its options, the seed; for a
        detector the backbone the suite swaps in), and notes on what the
        plan assumed."""
        from mmengine.config import ConfigDict
        parsed = ('config', run.config)
        if parsed not in self.cache:
            self.cache[parsed] = parse_config(
                osp.join(self.runner.root, run.config))
        cfg = copy.deepcopy(self.cache[parsed])
        cfg.merge_from_dict(_parse_options(
            self.runner.unit_options(run, seed)))
        notes = []
        backbone = cfg.model.get('backbone', {})
        if run.task == 'det' and type_name(backbone) in PRUNED_BACKBONE_TYPES:
            widths = self._pruned_widths(run, seed)
            if widths is None:
                # the widths exist once the backbone run is pruned; the
                # unpruned network bounds the cost from above
                cfg.model.backbone = ConfigDict(copy.deepcopy(backbone.base))
                notes.append('pruned backbone costed at its unpruned widths '
                             '(an upper bound: its run is not pruned yet)')
            else:
                cfg.model.backbone.widths = widths
                notes.append(f'pruned widths of {widths}')
        return cfg, notes

    def _pruned_widths(self, run, seed: int) -> Optional[str]:
        source = run.backbone.partition(':')[0]
        seeds = self.runner.runs[source].seeds
        if not self.runner.is_done(source,
                                   seed if seed in seeds else seeds[0]):
            return None
        return self.runner.backbone_checkpoint(run.backbone, seed)[1]

    def schedule(self, cfg, config_path: str
                 ) -> Tuple[Schedule, Dict[str, int]]:
        """A run's full schedule and the steps of each phase in it (one
        phase, ``warmup``, for a model that does not alternate)."""
        schedule = schedule_of(cfg, config_path)
        warmup_rounds = warmup_rounds_of(cfg)
        if warmup_rounds is None:
            return schedule, {'warmup': schedule.iters}
        return schedule, phase_iterations(schedule, alternation_hook_of(cfg),
                                          warmup_rounds)

    # -------------------------------------------------------- measuring
    def measurement_key(self, run, cfg) -> tuple:
        """What a measurement depends on: runs with equal keys share one."""
        widths = cfg.model.get('backbone', {}).get('widths')
        return (run.config, tuple(run.cfg_options), str(widths),
                self.batch_size, self.image_size, self.iters, self.warmup)

    def measure(self, run, cfg=None) -> Measurement:
        """Build the run's runner and time each phase of its schedule
        (cached by :meth:`measurement_key`).

        Args:
            run (dict): A run of the suite.
            cfg (Config, optional): Its :meth:`run_config`, if at hand.
        """
        if cfg is None:
            cfg, _ = self.run_config(run, run.seeds[0])
        key = self.measurement_key(run, cfg)
        if key not in self.cache:
            _, phases = self.schedule(cfg, run.config)
            if self.isolate:
                self.cache[key] = measure_in_subprocess(
                    self.runner.cfg.filename, run, self.runner.root,
                    self.runner.work_dir, self.timing())
            else:
                self.cache[key] = measure_config(cfg, run.config, phases,
                                                 self.timing())
        return self.cache[key]

    def timing(self) -> StepTiming:
        """How this planner times a unit's steps."""
        return StepTiming(self.device, self.iters, self.warmup,
                          self.batch_size, self.image_size)

    # ---------------------------------------------------------- the plan
    def finetune_iters(self, run, schedule: Schedule) -> int:
        """Steps per device of the suite's fine-tunes of a run (after each
        prune, and of the unpruned network when it asks for one)."""
        spec = self.runner.cfg.suite.get('finetune')
        if run.task != 'cls' or not spec or schedule.epochs is None:
            return 0
        count = len(run.prune) + int(bool(run.get('finetune_unpruned')))
        epochs = spec.get('epochs')
        if epochs is None:
            epochs = max(1, round(spec['share'] * schedule.epochs))
        return count * epochs * schedule.iters_per_epoch

    def plan_run(self, run) -> dict:
        """One row: the run's measured speed and its projected cost."""
        cfg, notes = self.run_config(run, run.seeds[0])
        schedule, phases = self.schedule(cfg, run.config)
        m = self.measure(run, cfg)
        missing = sorted(set(phases) - set(m.seconds))
        if missing:
            raise PlanError(f'run {run.name}: phases {missing} of its '
                            'schedule were not measured')
        seconds = m.seconds_per_iter(phases)
        steps = schedule.iters * schedule.devices
        finetune = self.finetune_iters(run, schedule)
        hours = (steps * seconds +
                 finetune * schedule.devices * m.unmodulated_seconds) / 3600
        return dict(
            run=run.name, label=run.label, method=run.method, task=run.task,
            config=run.config, cfg_options=list(run.cfg_options),
            input_shape=m.input_shape, batch_size=schedule.batch_size,
            devices=schedule.devices, devices_from=schedule.devices_from,
            schedule=schedule.describe(), epochs=schedule.epochs,
            iters_per_epoch=schedule.iters_per_epoch,
            dataset_images=schedule.dataset_images,
            iters_per_device=schedule.iters,
            finetune_iters_per_device=finetune, phase_iters=phases,
            phase_seconds={p: m.seconds[p] for p in phases},
            seconds_per_iter=seconds, it_per_s=1.0 / seconds,
            peak_memory_mb=round(m.peak_mb, 1),
            device_hours_per_seed=hours, seeds=len(run.seeds),
            device_hours=hours * len(run.seeds),
            paper_gpu_days=run.paper.get(PAPER_DAYS_KEY), notes=notes)

    def plan(self) -> dict:
        """Every run of the suite, the total, and what was measured how."""
        import torch
        runs = self.runner.cfg.runs
        rows = []
        for index, run in enumerate(runs):
            self.log(f'[{index + 1}/{len(runs)}] {run.name}: {run.config}')
            start = time.time()
            rows.append(self.plan_run(run))
            self.log(f'  {rows[-1]["it_per_s"]:.3g} it/s, '
                     f'{rows[-1]["device_hours"]:.3g} device-h '
                     f'({time.time() - start:.0f} s)')
        return dict(
            suite=self.runner.cfg.suite.name,
            title=self.runner.cfg.suite.title,
            device=self.device, device_description=self.device_description(),
            torch=torch.__version__, timed_iters=self.iters,
            warmup_iters=self.warmup,
            memory_method=PeakMemory.describe(self.device, self.isolate),
            load_average=[round(x, 2) for x in os.getloadavg()],
            smoke_test=dict(batch_size=self.batch_size,
                            image_size=self.image_size)
            if self.smoke_test else None,
            rows=rows,
            total_device_hours=sum(r['device_hours'] for r in rows),
            created=time.strftime('%Y-%m-%d %H:%M:%S %Z'))

