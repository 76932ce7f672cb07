"""Run a suite: one command per table of the papers.

(Formerly ``tools/benchmark.py``, which remains an alias for a while.)

A suite config (``configs/suites/*.py``, see :mod:`astro_mm.suite.config`)
lists the runs of one table (method x backbone x task, seeds) and the
paper's numbers for them. This command trains, tests, prunes, swaps the
backbones into the detectors and evaluates every run through the repo's own
tools, then writes the table (markdown, CSV, JSON: measured mean +- std
beside the paper's value, params, FLOPs, time) and the figures under
``WORK_DIR`` (default ``work_dirs/suites/<suite name>``).

Re-running continues where a crash or Ctrl-C stopped it: finished runs are
skipped, an interrupted training resumes from its last checkpoint.
``--workers N`` (or the suite's ``workers``) runs N units at once;
``--report`` prints the table of the units finished so far, draws the
figures that need no weights, and trains nothing.

``--plan`` trains nothing: it costs the suite before any machine is booked
(:mod:`astro_mm.suite.planner`): a few real training steps of each run
on synthetic inputs of its config's shapes, on the GPU when torch sees one,
projected to the full schedule (device-hours of every run, all seeds), into
``WORK_DIR/plan.md`` and ``plan.json``.

Example::

    python tools/run_suite.py configs/suites/demo.py
    python tools/run_suite.py configs/suites/manet-tab1_cifar10.py --dry-run
    python tools/run_suite.py configs/suites/manet-tab11_cifar10.py --plan
    python tools/run_suite.py SUITE --launcher pytorch --gpus 8
    python tools/run_suite.py SUITE --launcher slurm --partition gpu \
        --gpus 8 --nodes 2 --slurm-args "--time=2-00:00:00"
    python tools/run_suite.py SUITE --import manet=work_dirs/my_manet_run
"""
import argparse
import json
import os
import os.path as osp
import time

from astro_mm.compat import apply_patches, atomic_write_bytes
from astro_mm.suite import (SuiteRunner, build_rows, load_suite, prepare_data,
                            to_csv, to_markdown)
from astro_mm.suite.launch import LaunchSettings
from astro_mm.suite.planner import CostPlanner, plan_to_markdown
from astro_mm.suite.runner import machine_mix_warning

# the repository: suites name configs relative to it
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# astro_mm's tools run with its compatibility layer (astro_mm.compat)
apply_patches()


def log(message: str) -> None:
    # one write per line: two workers' lines must not interleave
    print(f'[suite {time.strftime("%H:%M:%S")}] {message}\n', end='',
          flush=True)


def warn_machine_mix(results) -> None:
    message = machine_mix_warning(results)
    if message:
        log(f'WARNING: {message}')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('suite', help='suite config, e.g. configs/suites/demo.py')
    parser.add_argument('--work-dir', help='default: work_dirs/suites/NAME')
    parser.add_argument('--data-root', default='data',
                        help='where prepare steps write (demo data, '
                        'Fashion-MNIST)')
    parser.add_argument('--dry-run', action='store_true',
                        help='list the units and what is finished, run nothing')
    parser.add_argument('--no-figures', action='store_true')
    parser.add_argument('--report', action='store_true',
                        help='train nothing: print the table of the units '
                        'finished so far and draw the figures that need no '
                        'weights (a long study in progress; the seeds '
                        'column says how many each row has)')
    parser.add_argument('--workers', type=int,
                        help='units run at once, each tool with cores // '
                        'workers threads (default: the suite\'s workers, '
                        'else 1)')
    launch = parser.add_argument_group(
        'launch', 'how the trainings run (default: the suite\'s keys; '
        'astro_mm.suite.launch): a unit trains on the devices its '
        'config names (NxbM), at most --gpus x --nodes; on other devices '
        'the lr scales with the total batch (auto_scale_lr)')
    launch.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                        help='none: one process per unit; pytorch: '
                        'torchrun on this node; slurm: srun')
    launch.add_argument('--gpus', type=int,
                        help='GPUs per node, shared out to the units that '
                        'run at once (CUDA_VISIBLE_DEVICES)')
    launch.add_argument('--nodes', type=int, help='nodes a SLURM unit spans')
    launch.add_argument('--partition', help='SLURM partition (srun -p)')
    launch.add_argument('--slurm-args', help='more srun options, one string')
    launch.add_argument('--cpus-per-task', type=int,
                        help='srun --cpus-per-task (default 5)')
    parser.add_argument('--import', dest='imports', action='append',
                        default=[], metavar='UNIT=WORK_DIR',
                        help='take a run trained elsewhere as the unit\'s '
                        'training (UNIT: RUN or RUN/seedS) after checking '
                        'its dumped config against the unit\'s; repeatable')
    plan = parser.add_argument_group(
        'cost plan', 'cost the suite instead of running it')
    plan.add_argument('--plan', action='store_true',
                      help='time a few training steps of every run on '
                      'synthetic inputs and project the full schedule: '
                      'WORK_DIR/plan.md, plan.json')
    plan.add_argument('--plan-iters', type=int, default=3,
                      help='timed steps per phase of a run (default 3)')
    plan.add_argument('--plan-warmup', type=int, default=1,
                      help='untimed steps before them (default 1)')
    plan.add_argument('--plan-batch-size', type=int,
                      help='smoke test: this batch instead of the config\'s '
                      '(the hours are then not a projection)')
    plan.add_argument('--plan-image-size', type=int,
                      help='smoke test: square images of this size, the '
                      'pipeline\'s resizes and crops dropped')
    return parser.parse_args(argv)


def plan(runner, args) -> None:
    """``--plan``: cost every run, print and save the table."""
    planner = CostPlanner(runner, iters=args.plan_iters,
                          warmup=args.plan_warmup,
                          batch_size=args.plan_batch_size,
                          image_size=args.plan_image_size, log=log)
    log(f'cost plan on {planner.device_description()}')
    result = planner.plan()
    table = plan_to_markdown(result)
    out = osp.join(runner.work_dir, 'plan')
    atomic_write_bytes(table.encode(), out + '.md')
    atomic_write_bytes(json.dumps(result, indent=2).encode(), out + '.json')
    print('\n' + table, flush=True)
    log(f'plan: {out}.md, .json')


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    cfg = load_suite(args.suite, root=ROOT)
    work_dir = args.work_dir or osp.join('work_dirs', 'suites', cfg.suite.name)
    launch = LaunchSettings.from_suite(
        cfg.suite, launcher=args.launcher, gpus=args.gpus, nodes=args.nodes,
        partition=args.partition, slurm_args=args.slurm_args,
        cpus_per_task=args.cpus_per_task)
    runner = SuiteRunner(cfg, work_dir, ROOT, log=log, workers=args.workers,
                         launch=launch)
    if args.imports:
        from astro_mm.suite.import_run import import_unit
        for spec in args.imports:
            name, seed = import_unit(runner, spec)
            log(f'imported {spec.partition("=")[2]} as {name} seed {seed}')
    if args.dry_run:
        runner.restore_archived()
        for run, seed in runner.units():
            state = 'done' if runner.is_done(run.name, seed) else 'to run'
            print(f'{run.name:<40} seed {seed:<3} {run.task:<4} {state:<7} '
                  f'{run.config}')
        return
    if args.plan:
        plan(runner, args)
        return
    if args.report:
        runner.restore_archived()
        runner.check_unit_configs()
        results = {run.name: [runner.result(run.name, s) for s in run.seeds
                              if osp.isfile(runner.result_file(run.name, s))]
                   for run in cfg.runs}
        rows = build_rows(cfg, results)
        print(to_markdown(cfg, rows), flush=True)
        warn_machine_mix(results)
        if not args.no_figures:
            from astro_mm.suite.figures import make_figures
            make_figures(runner, rows, log=log, with_checkpoints=False)
        return
    start = time.time()
    prepare_data(cfg.suite.prepare, args.data_root, log=log)
    results = runner.run()
    rows = build_rows(cfg, results)
    table = to_markdown(cfg, rows)
    out = osp.join(runner.work_dir, 'table')
    atomic_write_bytes(table.encode(), out + '.md')
    atomic_write_bytes(to_csv(rows).encode(), out + '.csv')
    atomic_write_bytes(
        json.dumps(dict(suite=cfg.suite.to_dict(), rows=rows,
                        results=results), indent=2).encode(), out + '.json')
    print('\n' + table, flush=True)
    log(f'table: {out}.md, .csv, .json')
    warn_machine_mix(results)
    if not args.no_figures:
        from astro_mm.suite.figures import make_figures
        make_figures(runner, rows, log=log)
    minutes = (time.time() - start) / 60
    log(f'done in {minutes:.1f} min')
    if cfg.suite.summary:
        # Last, so that scripts and RESULTS.md can quote the line verbatim.
        from astro_mm.suite.summary import summary_line
        if runner.units_done_before:
            unit_minutes = sum(r.get('minutes', 0.) for rs in results.values()
                               for r in rs)
            log(f'WARNING: minutes={minutes:.1f} below counts this command '
                f'only: {runner.units_done_before} units had finished '
                f'before it (resumed or restored); all units together took '
                f'{unit_minutes:.1f} unit-minutes (the minutes column)')
        print(summary_line(cfg.suite.summary, results, minutes,
                           warn=lambda m: log(f'WARNING: {m}')), flush=True)


if __name__ == '__main__':
    main()
