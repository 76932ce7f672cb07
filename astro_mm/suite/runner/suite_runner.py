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
import os.path as osp
import threading
from typing import Callable, Dict, List, Optional, Tuple

from ..launch import GpuPool, LaunchSettings
from .archive import UnitArchive
from .scheduling import UnitScheduler
from .steps import UnitSteps


class SuiteRunner(UnitScheduler, UnitSteps, UnitArchive):
    """Runs the units of a suite config (see :mod:`..config`) in order.

    Its jobs are its bases': :class:`UnitScheduler` (the order, the worker
    threads, a tool's process), :class:`UnitSteps` (train, test, prune,
    fine-tune) and :class:`UnitArchive` (the unit folders, results and the
    archive).

    Args:
        cfg (Config): A suite config checked by :func:`..config.load_suite`.
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
