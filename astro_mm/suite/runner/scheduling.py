"""In what order and where a suite's units run: one after the other, or on
``workers`` threads (the longest first, a det unit once its backbone's cls
unit has finished), each tool in its own process with a share of the cores
and, on a GPU node, of the GPUs."""
import contextlib
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Tuple

from .records import ToolError


class _UnitQueue:
    """The units a parallel run has yet to start, handed to the worker
    threads in order, a det unit once its backbone's unit is done.

    Args:
        pending (list): (run, seed) in the order to start them.
        ready (callable): Whether a (run, seed) can start now.
        started (int): Units started (or finished) before.
    """

    def __init__(self, pending, ready, started: int):
        self.pending = pending
        self.ready = ready
        self.started = started
        self.running: List[Tuple[str, int]] = []
        self.errors: List[BaseException] = []
        self.condition = threading.Condition()

    def take(self) -> Optional[Tuple[tuple, int]]:
        """The next unit that can start and its 1-based index, waiting while
        none can; None when there is nothing (more) to do."""
        with self.condition:
            while True:
                if self.errors or not self.pending:
                    return None
                unit = next((u for u in self.pending if self.ready(*u)),
                            None)
                if unit is not None:
                    break
                if not self.running:  # nothing will make one ready
                    self.errors.append(RuntimeError(
                        'det units wait for backbones that no unit '
                        f'produces: {[u[0].name for u in self.pending]}'))
                    self.condition.notify_all()
                    return None
                self.condition.wait()
            self.pending.remove(unit)
            self.running.append((unit[0].name, unit[1]))
            self.started += 1
            return unit, self.started

    def fail(self, error: BaseException) -> None:
        with self.condition:
            self.errors.append(error)

    def finish(self, run_name: str, seed: int) -> None:
        with self.condition:
            self.running.remove((run_name, seed))
            self.condition.notify_all()

    def left(self) -> int:
        return len(self.pending) + len(self.running)


class UnitScheduler:
    """Runs the units of a :class:`~.SuiteRunner` (which sets ``cfg``,
    ``runs``, ``root``, ``workers``, ``gpu_pool`` and the unit steps)."""

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
        queue = _UnitQueue(pending, self._backbone_ready, total - len(todo))
        threads = [threading.Thread(target=self._work, args=(queue, total),
                                    daemon=True)
                   for _ in range(self.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if queue.errors:
            raise queue.errors[0]

    def _backbone_ready(self, run, seed: int) -> bool:
        """Whether a unit can start: a det unit once its backbone's unit is
        done."""
        if run.task == 'cls':
            return True
        source = run.backbone.partition(':')[0]
        seeds = self.runs[source].seeds
        return self.is_done(source, seed if seed in seeds else seeds[0])

    def _work(self, queue: _UnitQueue, total: int) -> None:
        """A worker thread: run units from ``queue`` until it is empty or
        a unit failed."""
        while True:
            taken = queue.take()
            if taken is None:
                return
            (run, seed), index = taken
            self._unit.name = f'{run.name} s{seed}'
            self.log(f'[{index}/{total}] start ({run.task}); '
                     f'{self._eta(queue.left())}')
            try:
                self._run_unit(run, seed)
                self.log('done')
            except BaseException as error:  # noqa: B902 (re-raised)
                self.log(f'failed: {error}')
                queue.fail(error)
            finally:
                self._unit.name = None
                queue.finish(run.name, seed)

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
