"""Cost of modulation: plain ResNet-18 vs MA-Net (and AstroNet) ResNet-18.

Both models train side by side in one process on the same batches, their
steps alternating (plain, astro, plain, astro, ...) so that machine noise
hits both alike. The schedule is Algorithm 1's: warm-up rounds (10 % of the
steps), then Phi- and W-rounds alternating.

Memory: on a GPU, ``torch.cuda.max_memory_allocated`` per step; on a CPU,
where torch has no allocator statistics, the bytes a step holds: parameters,
gradients, optimizer state, plus the peak of tensors autograd saves for the
backward pass (counted with ``saved_tensors_hooks``).

The last line is::

    modulation_overhead: time_ratio=<x> mem_ratio=<y> w_round_ratio=<a> phi_round_ratio=<b>

(MA-Net / plain: whole-schedule time, peak memory, per-step time in W-rounds,
per-step time in Phi-rounds). Targets on a 2-core CPU: time <= 1.15,
memory <= 1.2, W-round <= 1.05, Phi-round <= 1.25.

Example::

    python benchmarks/modulation_overhead.py --steps 60 --batch-size 64
"""
import argparse
import statistics
import time
from collections import defaultdict

import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import astro_mm  # noqa: F401
from astro_mm.registry import MODELS

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


class SavedBytes:
    """Peak bytes of tensors autograd keeps for the backward pass."""

    def __init__(self):
        self.live = self.peak = 0

    def pack(self, tensor):
        self.live += tensor.numel() * tensor.element_size()
        self.peak = max(self.peak, self.live)
        return tensor

    def unpack(self, tensor):
        return tensor


def state_bytes(model, optim_wrapper) -> int:
    total = sum(p.numel() * p.element_size() for p in model.parameters())
    total += sum(p.grad.numel() * p.grad.element_size()
                 for p in model.parameters() if p.grad is not None)
    wrappers = getattr(optim_wrapper, 'optim_wrappers', {'': optim_wrapper})
    for wrapper in wrappers.values():
        for state in wrapper.optimizer.state.values():
            total += sum(v.numel() * v.element_size() for v in state.values()
                         if torch.is_tensor(v))
    return total


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


def timed_step(model, optim_wrapper, batch, device):
    saved = SavedBytes()
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    with torch.autograd.graph.saved_tensors_hooks(saved.pack, saved.unpack):
        model.train_step(batch, optim_wrapper)
    if device == 'cuda':
        torch.cuda.synchronize()
        memory = torch.cuda.max_memory_allocated()
    else:
        memory = saved.peak + state_bytes(model, optim_wrapper)
    return time.perf_counter() - start, memory


def run(method, args, device):
    torch.manual_seed(0)
    plain = MODELS.build(ARCH).to(device)
    torch.manual_seed(0)
    algo = MODELS.build(dict(
        type='astro_mm.AlternatingAlgorithm', architecture=ARCH,
        modulator=MODULATORS[method],
        warmup_rounds=args.warmup_rounds)).to(device)
    plain_ow = build_optim_wrapper(plain, dict(SGD))
    algo_ow = build_optim_wrapper(algo, dict(
        constructor='astro_mm.AlternatingOptimWrapperConstructor',
        tnet=SGD, mnet=SGD))
    batches = make_batches(args.distinct_batches, args.batch_size)
    times, memory = defaultdict(lambda: defaultdict(list)), defaultdict(int)
    for step in range(args.warmup_steps + args.steps):
        batch = batches[step % len(batches)]
        algo.set_round(max(step - args.warmup_steps, 0) // args.round_interval + 1)
        phase = algo.phase
        order = [('plain', plain, plain_ow), ('astro', algo, algo_ow)]
        for name, model, ow in (order if step % 2 == 0 else order[::-1]):
            seconds, mem = timed_step(model, ow, batch, device)
            if step >= args.warmup_steps:  # the first steps warm caches up
                times[name][phase].append(seconds)
                memory[name] = max(memory[name], mem)
    total = {n: sum(sum(v) for v in times[n].values()) for n in times}
    per_step = {
        phase: statistics.median(times['astro'][phase]) /
        statistics.median(times['plain'][phase])
        for phase in times['astro']
    }
    counts = {p: len(v) for p, v in times['astro'].items()}
    ratios = dict(
        time_ratio=total['astro'] / total['plain'],
        mem_ratio=memory['astro'] / memory['plain'],
        w_round_ratio=per_step.get('tnet', float('nan')),
        phi_round_ratio=per_step.get('phi', float('nan')))
    print(f'{method}: steps per phase {counts}; plain {total["plain"]:.1f} s, '
          f'{method} {total["astro"]:.1f} s; peak memory plain '
          f'{memory["plain"] / 2**20:.0f} MiB, {method} '
          f'{memory["astro"] / 2**20:.0f} MiB; warm-up step ratio '
          f'{per_step.get("warmup", float("nan")):.3f}', flush=True)
    return ratios


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=60,
                        help='measured steps (warm-up rounds included)')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--round-interval', type=int, default=6,
                        help='steps per round')
    parser.add_argument('--warmup-rounds', type=int, default=1,
                        help='R_TN; with the defaults 6 of 60 steps = 10 %%')
    parser.add_argument('--warmup-steps', type=int, default=3,
                        help='unmeasured steps before the schedule')
    parser.add_argument('--distinct-batches', type=int, default=8)
    parser.add_argument('--methods', nargs='+', default=['astronet', 'manet'])
    parser.add_argument('--device', default=None)
    args = parser.parse_args()
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    init_default_scope('mmpretrain')
    print(f'device {device}, torch {torch.__version__}, threads '
          f'{torch.get_num_threads()}, batch {args.batch_size}, {args.steps} '
          f'steps, round every {args.round_interval} steps, R_TN '
          f'{args.warmup_rounds}', flush=True)
    results = {m: run(m, args, device) for m in args.methods}
    for method, r in results.items():
        print(f'{method}: ' + ' '.join(f'{k}={v:.3f}' for k, v in r.items()))
    r = results.get('manet', next(iter(results.values())))
    print('modulation_overhead: ' +
          ' '.join(f'{k}={v:.3f}' for k, v in r.items()))


if __name__ == '__main__':
    main()
