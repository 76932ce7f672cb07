"""Measure one run of a suite and print it: the child process of
:func:`.measurement.measure_in_subprocess` (``python -m
astro_mm.suite.planner SUITE RUN --work-dir DIR ...``)."""
import argparse
import json

from astro_mm.compat import apply_patches
from ..config import load_suite
from ..runner import SuiteRunner
from .cost_planner import CostPlanner
from .facts import PlanError
from .measurement import RESULT_MARK


def main(argv=None) -> None:
    """Measure one run of a suite and print it (the subprocess of
    :func:`.measurement.measure_in_subprocess`)."""
    apply_patches()  # as astro_mm's tools run
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument('suite')
    parser.add_argument('run')
    parser.add_argument('--root', default='.')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--batch-size', type=int)
    parser.add_argument('--image-size', type=int)
    args = parser.parse_args(argv)
    cfg = load_suite(args.suite, root=args.root)
    runner = SuiteRunner(cfg, args.work_dir, args.root, log=lambda m: None)
    if args.run not in runner.runs:
        raise PlanError(f'{args.suite}: no run named {args.run!r}')
    planner = CostPlanner(runner, args.iters, args.warmup, args.batch_size,
                          args.image_size, isolate=False)
    measurement = planner.measure(runner.runs[args.run])
    print(RESULT_MARK + json.dumps(measurement.to_dict()), flush=True)



if __name__ == '__main__':
    main()
