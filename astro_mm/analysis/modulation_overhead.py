"""Cost of modulation: plain ResNet-18 vs MA-Net (and AstroNet) ResNet-18,
as ``benchmarks/modulation_overhead.py`` measures it.

Time: both models train side by side in one process on the same batches,
their steps alternating (plain, astro, plain, astro, ...) so that machine
noise hits both alike. An astro step is timed as training pays for it: the
:class:`~astro_mm.engine.AlternationHook`'s ``before_train_iter`` (which calls
``set_round``: at a round's start the weight descriptors, the modulator's
forward and the caching of P) plus ``train_step``. The schedule is the
hook's (``round_unit``, ``alternation``, ``round_interval``) with
Algorithm 1's warm-up rounds (``warmup_rounds``), so a new round mode of
the hook is benchmarked by naming it.

Weight updates: every ``step()`` of the TNet's optimizer is counted (an
optimizer step hook), so ``time_per_w_update_ratio`` is the price of one
update of W whatever the schedule does per step: the astro arm's time over
its number of W updates (warm-up and W steps; Phi steps update none),
divided by the same for the plain arm (one update per step).

Memory: a separate pass per arm, alone in the process, over the first steps
of the same schedule (up to the second step of each phase, so that every
round's set-up and a steady step of each phase are seen). The figure is the
peak of live tensor bytes, gradients and optimizer state included as they
exist at the peak: on a GPU ``torch.cuda.max_memory_allocated``; on a CPU
the torch profiler's allocation and free events (``profile_memory=True``)
summed in order from the arm's construction on, and their maximum taken.

The benchmark prints the ratios of :func:`ratios` (MA-Net or AstroNet over
plain); this module holds the measurement, the script its command line.
"""
import gc
import json
import os
import statistics
import tempfile
import time
import warnings
from collections import defaultdict
from types import SimpleNamespace
from typing import Callable, Dict, List

import torch
from mmengine.optim import build_optim_wrapper

from astro_mm.registry import HOOKS, MODELS

ARCH = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(
        type='mmpretrain.LinearClsHead', num_classes=10, in_channels=512),
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor', num_classes=10,
        mean=[125.3, 123.0, 113.9], std=[51.6, 50.8, 51.3]))
SGD = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
MODULATORS = {
    'manet': dict(type='astro_mm.MANetModulator', num_astrocytes=4),
    'astronet': dict(type='astro_mm.AstroNetModulator'),
}
# round units that need an epoch length, which a stream of batches lacks
UNSUPPORTED_UNITS = ('epoch', )


class Arm:
    """One model under training: its optimizer wrapper, the work done before
    each step (the round's set-up; none for the plain network) and a count
    of the TNet's weight updates.

    Args:
        model: The model (``train_step(data, optim_wrapper)``).
        optim_wrapper: Its optimizer wrapper.
        tnet_optimizer: The optimizer that updates the TNet's weights W.
        before_step (callable): ``before_step(step)`` runs inside the timed
            step, before ``train_step``.
        phase (callable): The phase the current step is in.
    """

    def __init__(self, model, optim_wrapper, tnet_optimizer,
                 before_step: Callable[[int], None] = lambda step: None,
                 phase: Callable[[], str] = lambda: 'plain'):
        self.model = model
        self.optim_wrapper = optim_wrapper
        self.before_step = before_step
        self.phase = phase
        self.w_updates = 0
        tnet_optimizer.register_step_post_hook(self._count)

    def _count(self, *args) -> None:
        self.w_updates += 1

    def step(self, index: int, batch) -> None:
        """Step ``index`` of the schedule, round set-up included."""
        self.before_step(index)
        self.model.train_step(batch, self.optim_wrapper)


def build_plain(device: str) -> Arm:
    torch.manual_seed(0)
    model = MODELS.build(ARCH).to(device)
    optim_wrapper = build_optim_wrapper(model, dict(SGD))
    return Arm(model, optim_wrapper, optim_wrapper.optimizer)


def build_astro(method: str, schedule, device: str) -> Arm:
    """The modulated network, its rounds set by the AlternationHook.

    ``schedule`` holds the benchmark's settings: ``steps``,
    ``round_unit``, ``round_interval``, ``alternation`` (default
    ``'per_round'``), ``warmup_rounds`` (and
    ``warmup_steps`` for :func:`time_schedule`), e.g. its parsed
    arguments.
    """
    torch.manual_seed(0)
    algo = MODELS.build(dict(
        type='astro_mm.AlternatingAlgorithm', architecture=ARCH,
        modulator=MODULATORS[method],
        warmup_rounds=schedule.warmup_rounds)).to(device)
    optim_wrapper = build_optim_wrapper(algo, dict(
        constructor='astro_mm.AlternatingOptimWrapperConstructor',
        tnet=SGD, mnet=SGD))
    hook = HOOKS.build(dict(type='astro_mm.AlternationHook',
                            round_unit=schedule.round_unit,
                            round_interval=schedule.round_interval,
                            alternation=getattr(schedule, 'alternation',
                                                'per_round')))
    # the runner attributes the hook reads (no epochs in a stream of batches)
    runner = SimpleNamespace(
        model=algo, iter=0, epoch=0, max_iters=schedule.steps)
    hook.before_train(runner)

    def before_step(index: int) -> None:
        runner.iter = index
        hook.before_train_iter(runner, batch_idx=index)

    return Arm(algo, optim_wrapper, optim_wrapper['tnet'].optimizer,
               before_step, lambda: algo.phase)


def make_batches(num, batch_size, seed=0):
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(num):
        images = torch.randint(0, 256, (batch_size, 3, 32, 32),
                               generator=gen, dtype=torch.uint8)
        labels = torch.randint(0, 10, (batch_size, ), generator=gen)
        batches.append(dict(
            inputs=list(images),
            data_samples=[DataSample().set_gt_label(int(l)) for l in labels]))
    return batches


def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def timed_step(arm: Arm, index: int, batch, device: str) -> float:
    _sync(device)
    start = time.perf_counter()
    arm.step(index, batch)
    _sync(device)
    return time.perf_counter() - start


def time_schedule(method: str, schedule, batches, device: str) -> Dict:
    """Both arms through the whole schedule, steps interleaved."""
    plain, astro = build_plain(device), build_astro(method, schedule, device)
    arms = dict(plain=plain, astro=astro)
    # the first steps warm caches up: run, not measured, in round 1
    for step in range(schedule.warmup_steps):
        for arm in arms.values():
            arm.step(0, batches[step % len(batches)])
    for arm in arms.values():
        arm.w_updates = 0
    times = defaultdict(lambda: defaultdict(list))  # arm -> astro phase
    phases = []
    for step in range(schedule.steps):
        batch = batches[step % len(batches)]
        order = list(arms.items())
        seconds = {
            name: timed_step(arm, step, batch, device)
            for name, arm in (order if step % 2 == 0 else order[::-1])
        }
        phases.append(astro.phase())
        for name, value in seconds.items():
            times[name][phases[-1]].append(value)
    return dict(times=times, phases=phases,
                w_updates={name: arm.w_updates for name, arm in arms.items()})


def memory_steps(phases: List[str]) -> int:
    """Steps up to the second one of every phase of the schedule."""
    seen, last = defaultdict(int), 0
    for index, phase in enumerate(phases):
        seen[phase] += 1
        if seen[phase] <= 2:
            last = index
    return last + 1


def _cpu_peak(trace_path: str) -> int:
    """Peak of live CPU tensor bytes in a profiler trace, from its start."""
    with open(trace_path) as f:
        events = json.load(f)['traceEvents']
    memory = sorted(  # stable: events of one microsecond keep their order
        ((float(e['ts']), e['args']['Bytes']) for e in events
         if e.get('name') == '[memory]' and e['args'].get('Device Type') == 0),
        key=lambda event: event[0])
    live = peak = 0
    for _, delta in memory:
        live += delta
        peak = max(peak, live)
    return peak


def peak_memory(build: Callable[[], Arm], num_steps: int, batches,
                device: str) -> int:
    """Peak tensor bytes of one arm, built and trained alone."""
    gc.collect()
    if device == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        arm = build()
        for step in range(num_steps):
            arm.step(step, batches[step % len(batches)])
        _sync(device)
        return torch.cuda.max_memory_allocated() - base
    from torch.profiler import ProfilerActivity, profile
    warnings.filterwarnings('ignore', '.*Profiler clears events')
    with profile(activities=[ProfilerActivity.CPU],
                 profile_memory=True) as prof:
        arm = build()
        for step in range(num_steps):
            arm.step(step, batches[step % len(batches)])
        del arm
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'trace.json')
        prof.export_chrome_trace(path)
        return _cpu_peak(path)


def phase_ratio(times: Dict, phase: str) -> float:
    """Median astro step over median plain step, in the steps of ``phase``
    (both arms ran the same steps, interleaved)."""
    if phase not in times['astro']:
        return float('nan')
    return (statistics.median(times['astro'][phase]) /
            statistics.median(times['plain'][phase]))


def ratios(timing: Dict, memory: Dict[str, int]) -> Dict[str, float]:
    """The figures of the last line, astro over plain."""
    times, updates = timing['times'], timing['w_updates']
    total = {n: sum(sum(v) for v in times[n].values()) for n in times}
    per_phase = {phase: phase_ratio(times, phase) for phase in times['astro']}
    per_update = {n: total[n] / max(updates[n], 1) for n in total}
    return dict(
        time_ratio=total['astro'] / total['plain'],
        mem_ratio=memory['astro'] / memory['plain'],
        w_round_ratio=per_phase.get('tnet', float('nan')),
        phi_round_ratio=per_phase.get('phi', float('nan')),
        time_per_w_update_ratio=per_update['astro'] / per_update['plain'])


def run(method: str, schedule, device: str, batches) -> Dict[str, float]:
    """Time and memory of ``method`` against the plain network: the ratios
    of the last line (one line on the way, printed)."""
    timing = time_schedule(method, schedule, batches, device)
    num_steps = memory_steps(timing['phases'])
    memory = dict(
        plain=peak_memory(lambda: build_plain(device), num_steps, batches,
                          device),
        astro=peak_memory(lambda: build_astro(method, schedule, device),
                          num_steps, batches, device))
    result = ratios(timing, memory)
    times = timing['times']
    counts = {p: len(v) for p, v in times['astro'].items()}
    total = {n: sum(sum(v) for v in times[n].values()) for n in times}
    print(f'{method}: steps per phase {counts}; W updates plain '
          f'{timing["w_updates"]["plain"]}, {method} '
          f'{timing["w_updates"]["astro"]}; plain {total["plain"]:.1f} s, '
          f'{method} {total["astro"]:.1f} s; peak memory (first {num_steps} '
          f'steps) plain {memory["plain"] / 2**20:.0f} MiB, {method} '
          f'{memory["astro"] / 2**20:.0f} MiB; step ratio per phase ' +
          ', '.join(f'{p} {phase_ratio(times, p):.3f}' for p in counts),
          flush=True)
    return result
