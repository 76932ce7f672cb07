"""Why the converged study runs two one-thread units at a time, and why its
ResNet-20 has a stride-2 stem.

Times training steps of ResNet-20 (``astro_mm.CIFARResNet``, Fashion-MNIST
shapes: batch 128 of 1 x 28 x 28, SGD, cross-entropy on a linear head),
side by side in one run:

* one process with all the cores' threads (2 here), against two processes
  with one thread each running at once (the suite's ``workers=2``);
* the CIFAR stem (stride 1) against the study's stride-2 stem.

It prints the seconds per batch of each setting and, last::

    worker_throughput: speedup_two_workers_s1=<a> speedup_two_workers_s2=<b> time_s1_over_s2=<c>

``speedup_two_workers`` is the batches per second of the two one-thread
processes together over those of the one process (> 1: the workers do more
work); ``time_s1_over_s2`` is the seconds per batch of the stride-1 network
over the stride-2 one (one thread each, two at a time, as the study runs).

Example::

    python benchmarks/worker_throughput.py [--steps 20]
"""
import argparse
import json
import os
import subprocess
import sys


def time_steps(stem_stride: int, threads: int, steps: int) -> float:
    """Seconds per training step (after 3 untimed ones), in this process."""
    import time

    import torch
    from torch import nn

    from astro_mm.models.backbones import CIFARResNet

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    backbone = CIFARResNet(depth=20, in_channels=1, stem_stride=stem_stride)
    head = nn.Linear(64, 10)
    optimizer = torch.optim.SGD(
        list(backbone.parameters()) + list(head.parameters()), lr=0.1,
        momentum=0.9)
    images = torch.randn(128, 1, 28, 28)
    labels = torch.randint(0, 10, (128, ))

    def step():
        features = backbone(images)[-1].mean((2, 3))
        loss = nn.functional.cross_entropy(head(features), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def spawn(stem_stride: int, threads: int, steps: int) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    return subprocess.Popen(
        [sys.executable, __file__, '--child', str(stem_stride), str(threads),
         str(steps)], stdout=subprocess.PIPE, text=True, env=env)


def seconds(procs) -> list:
    out = []
    for proc in procs:
        stdout, _ = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f'a timing process exited {proc.returncode}')
        out.append(json.loads(stdout.strip().splitlines()[-1])['seconds'])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--child', nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        stem_stride, threads, steps = args.child
        print(json.dumps(dict(seconds=time_steps(stem_stride, threads,
                                                 steps))))
        return
    cores = os.cpu_count() or 1
    figures = {}
    for stride in (1, 2):
        (alone, ) = seconds([spawn(stride, cores, args.steps)])
        pair = seconds([spawn(stride, 1, args.steps) for _ in range(2)])
        speedup = sum(1 / s for s in pair) / (1 / alone)
        figures[stride] = dict(alone=alone, pair=pair, speedup=speedup)
        print(f'stem stride {stride}: one process, {cores} threads: '
              f'{alone:.3f} s per batch; two one-thread processes: '
              f'{pair[0]:.3f} and {pair[1]:.3f} s per batch each; '
              f'throughput x{speedup:.2f}', flush=True)
    ratio = (sum(figures[1]['pair']) / 2) / (sum(figures[2]['pair']) / 2)
    print(f'worker_throughput: speedup_two_workers_s1='
          f'{figures[1]["speedup"]:.2f} speedup_two_workers_s2='
          f'{figures[2]["speedup"]:.2f} time_s1_over_s2={ratio:.2f}',
          flush=True)


if __name__ == '__main__':
    main()
