"""What bfloat16 autocast buys on this machine's CPU, if anything.

The converged study's schedule (configs/_base_/schedules/fashion-mnist_amp-
5e.py) trains in bfloat16 autocast through ``astro_mm.AutocastOptimWrapper``.
That pays only where the CPU computes bfloat16 (oneDNN's avx512_bf16 / AMX
kernels); elsewhere torch emulates it, and the wrapper falls back to float32
(``float32_if_emulated``). This script times ResNet-20 training steps
(``astro_mm.CIFARResNet``, stride-2 stem, Fashion-MNIST shapes: batch 128 of
1 x 28 x 28, SGD, cross-entropy on a linear head; one thread, as the study's
units run) through the wrapper, float32 and bfloat16 (forced, even where
emulated) side by side: rounds of each in turn, the median per precision.

Its last line::

    autocast: cpu=<capability> native_bfloat16=<True|False> ms_float32=<a> ms_bfloat16=<b> speedup=<a/b>

Example::

    python benchmarks/autocast_speed.py [--rounds 3] [--steps 5]
"""
import argparse
import statistics
import time

import torch
from torch import nn

from astro_mm.engine.optimizers.autocast_optim_wrapper import (
    AutocastOptimWrapper, native_bfloat16)
from astro_mm.models.backbones import CIFARResNet


class Classifier(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = CIFARResNet(depth=20, in_channels=1, stem_stride=2)
        self.head = nn.Linear(64, 10)

    def forward(self, images):
        return self.head(self.backbone(images)[-1].mean((2, 3)))


def make_step(dtype: str):
    """A training step of a fresh classifier in ``dtype`` autocast."""
    torch.manual_seed(0)
    model = Classifier()
    wrapper = AutocastOptimWrapper(
        dtype=dtype, float32_if_emulated=False,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    images = torch.randn(128, 1, 28, 28)
    labels = torch.randint(0, 10, (128, ))

    def step():
        with wrapper.optim_context(model):
            loss = nn.functional.cross_entropy(model(images).float(), labels)
        wrapper.update_params(loss)

    step()  # untimed: first-call allocations and kernel selection
    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--steps', type=int, default=5,
                        help='timed steps per precision and round')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    steps = {dtype: make_step(dtype) for dtype in ('float32', 'bfloat16')}
    times = {dtype: [] for dtype in steps}
    for _ in range(args.rounds):
        for dtype, step in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[dtype].append((time.perf_counter() - start) / args.steps)
    ms = {dtype: 1000 * statistics.median(t) for dtype, t in times.items()}
    for dtype, values in times.items():
        print(f'{dtype}: ' + ', '.join(f'{1000 * v:.0f}' for v in values) +
              ' ms per step (rounds)')
    print(f'autocast: cpu={torch.backends.cpu.get_cpu_capability()} '
          f'native_bfloat16={native_bfloat16("cpu")} '
          f'ms_float32={ms["float32"]:.0f} ms_bfloat16={ms["bfloat16"]:.0f} '
          f'speedup={ms["float32"] / ms["bfloat16"]:.2f}', flush=True)


if __name__ == '__main__':
    main()
