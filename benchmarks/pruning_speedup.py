"""What physical pruning buys: a pruned MA-Net backbone vs the unpruned one.

For MA-Net ResNet-18 and ResNet-50 (ImageNet layout, the detectors'
backbones), the units are pruned to a fixed parameter budget with
:func:`astro_mm.pruning.export_pruned`, and the pruned plain backbone
is compared with the unpruned one side by side in one process (their
forward passes alternate, so machine noise hits both alike; eval mode, after
warm-up), at batch 1 and batch 16.

P comes from ``--checkpoint`` (a trained MA-Net of the same config) when
given, else from the untrained modulator (P ~ 0.95 with small per-unit
differences): the latency of a pruned network depends on the widths it
keeps, not on which units they are, so both measure the same thing.

Both networks run in the channels-last memory format, the faster one for
CPU inference (``--nchw`` to switch off: in NCHW torch's CPU max-pool of
the stem alone is 17 % of ResNet-18's time, a fixed cost pruning cannot
touch). ``--round-to 8`` rounds pruned widths up to multiples of 8 (for
GPUs; on this CPU it helps coupled pruning a little and costs inner
pruning latency, see RESULTS.md). ``--fuse-bn`` folds
every batch norm into its conv in both networks before timing (mmcv's
``fuse_conv_bn``, as a deployment would). ``--coupled`` also prunes the
channels of each stage's residual stream (block outputs, shortcuts, the
next stage's inputs: :mod:`astro_mm.pruning.coupled`), the lever
that makes the additions and the stage outputs shrink too, and the stem's
output channels where they are a group of their own (ResNet-50): that stem
is then modulated too (unless ``--checkpoint`` gives the model), so that P
ranks them like every other group (ResNet-18's stem writes into layer1's
stream, ranked by the P of its blocks' outputs, and stays unmodulated).

Figures per backbone: parameter and FLOP ratios, the median latency of each
batch size, and the max abs difference between the pruned network's stage
outputs and the modulated network's with the removed units' P set to 0 (the
network the export promises to compute; with ``--coupled`` the norms
that write a removed stage channel are switched off too). The
last line is::

    pruning: params_ratio=<x> latency_ratio=<y> max_abs_diff=<z>

the worst over the backbones: the largest params ratio, the largest latency
ratio of any backbone at any batch size timed (``--batches``, default 1
and 16), the largest difference. ``--device cuda`` times on the GPU
(synchronized, 10 warm-up passes); the report names the device.

Each backbone is measured in fresh processes (``--processes``, 3 by
default, one after another; each batch size's latency ratio is the median
of theirs), with one torch thread (``--threads``) and 30 interleaved passes
per batch size (``--repeats``): about 9 minutes on this 2-core CPU. The
ratio of one process moves by up to 0.07 between runs of the same command
on this CPU, more than the repeats inside a run move it, so one process is
one sample (RESULTS.md).
Target: latency_ratio <= params_ratio + 0.10. The machine's load average is
printed before and after (a shared CPU slows both networks alike, but not
evenly over a run).

Example::

    python benchmarks/pruning_speedup.py --budget 0.6
    python benchmarks/pruning_speedup.py --budget 0.6 --coupled
    python benchmarks/pruning_speedup.py --budget 0.6 --round-to 8 --fuse-bn
    python benchmarks/pruning_speedup.py --budget 0.6 --coupled --processes 5
    python benchmarks/pruning_speedup.py --backbones r18 \\
        --checkpoint work_dirs/manet_resnet18_1xb64-3e_demo-cifar/epoch_3.pth
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import astro_mm  # noqa: F401
from astro_mm.compat import load_checkpoint_file
from astro_mm.families import resolve_family
from astro_mm.models.modulated import unmodulated_copy
from astro_mm.pruning import export_pruned, silence_channels
from astro_mm.pruning.coupled import STEM
from astro_mm.pruning.report import compare, format_report
from astro_mm.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = {
    'r18': 'configs/manet/manet_resnet18_8xb32-100e_in1k.py',
    'r50': 'configs/manet/manet_resnet50_8xb32-100e_in1k.py',
}


def build_algorithm(config: str, checkpoint=None, modulate_stem=False):
    """The config's MA-Net, all four stages as outputs (as in a detector),
    in a W-round so that P is computed once and cached; with
    ``modulate_stem`` the stem's conv has P too (nothing excluded)."""
    cfg = Config.fromfile(osp.join(ROOT, config))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.architecture.backbone.out_indices = (0, 1, 2, 3)
    model_cfg.architecture.pop('init_cfg', None)
    if modulate_stem:
        layers = dict(model_cfg.get('modulated_layers') or {})
        layers['exclude'] = []
        model_cfg.modulated_layers = layers
    algorithm = MODELS.build(model_cfg)
    if checkpoint:
        state = load_checkpoint_file(checkpoint, map_location='cpu')
        algorithm.load_state_dict(state.get('state_dict', state))
    else:
        first_tnet_round = algorithm.warmup_rounds + 1
        if first_tnet_round % 2 == 0:
            first_tnet_round += 1
        algorithm.set_round(first_tnet_round)
    return algorithm.eval()


def stem_is_a_group(config: str) -> bool:
    """Whether the config's backbone has a stem that is a channel group of
    its own (a ``'stem'`` entry in its family's stage widths); the random
    state is left as it was."""
    cfg = Config.fromfile(osp.join(ROOT, config))
    with torch.random.fork_rng(devices=[]):
        backbone = MODELS.build(cfg.model.architecture.backbone)
    return STEM in resolve_family(backbone).stage_widths()


def plain_backbone(algorithm):
    backbone = unmodulated_copy(algorithm.architecture.backbone)
    backbone.eval()  # mmpretrain's ResNet.train() returns None
    return backbone


@torch.no_grad()
def max_abs_diff(algorithm, pruned_backbone, result, input_size) -> float:
    """Pruned vs modulated under the P the export realizes (removed units'
    P set to 0, removed stage channels switched off in their unmodulated
    writers), over all stage outputs (a removed stage channel compares as
    the zeros the modulated network gives there).

    Changes ``algorithm``'s cached P and norms in place (a deep copy would
    keep hooks bound to the original's scaler), so it runs last.
    """
    algorithm.cached_probs.copy_(torch.cat(result.probs))
    algorithm.scaler.probs = algorithm.current_probs()
    backbone = algorithm.architecture.backbone
    silence_channels(backbone, result.removed_channels)
    x = torch.randn(2, 3, input_size, input_size)
    expected = backbone(x)
    actual = pruned_backbone(x)
    kept = list(algorithm.family_plan.kept_stage_channels(
        result.removed_channels).values())
    worst = 0.
    for stage, (a, e) in enumerate(zip(actual, expected)):
        # a removed stage channel is 0 in the modulated network's output
        off = torch.ones(e.shape[1], dtype=torch.bool)
        off[kept[stage]] = False
        if off.any():
            worst = max(worst, float(e[:, off].abs().max()))
        worst = max(worst, float((a - e[:, kept[stage]]).abs().max()))
    return worst


def measure(name: str, args) -> dict:
    checkpoint = args.checkpoint if name == args.backbones[0] else None
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        # coupled: where the stem is a channel group of its own (ResNet-50),
        # it is modulated, so that P ranks its channels too (ResNet-18's
        # stem shares layer1's stream, whose block outputs have P; a
        # checkpoint's model keeps its own modulated layers)
        algorithm = build_algorithm(
            CONFIGS[name], checkpoint, modulate_stem=args.coupled
            and not checkpoint and stem_is_a_group(CONFIGS[name]))
        result = export_pruned(algorithm, budget=args.budget,
                               round_to=args.round_to, coupled=args.coupled)
        before = plain_backbone(algorithm)
        after = copy.deepcopy(result.model.backbone)
        if args.fuse_bn:
            from mmcv.cnn import fuse_conv_bn
            before, after = fuse_conv_bn(before), fuse_conv_bn(after)
        report = compare(before, after, args.input_size,
                         batches=tuple(args.batches), repeats=args.repeats,
                         channels_last=not args.nchw, device=args.device)
        report['max_abs_diff'] = max_abs_diff(
            algorithm, result.model.backbone, result, args.input_size)
    # the pruning's ratio, batch norms counted (fusing drops them from both)
    report['params_ratio'] = result.params_after / result.params_before
    report.update(backbone=name, config=CONFIGS[name], budget=args.budget,
                  threshold=result.threshold, round_to=args.round_to,
                  coupled=args.coupled, fuse_bn=args.fuse_bn,
                  stage_widths=result.stage_widths,
                  p_source=checkpoint or 'untrained modulator')
    report['latency_ratio'] = max(t['after_ms'] / t['before_ms']
                                  for t in report['latency'].values())
    print(f'\n== MA-Net {name}, budget {args.budget}, '
          f'{"coupled" if args.coupled else "inner channels only"}, widths '
          f'rounded to {args.round_to}, '
          f'{"BN fused, " if args.fuse_bn else ""}'
          f'{"NCHW" if args.nchw else "channels-last"}, P from '
          f'{report["p_source"]}, {args.input_size} px, on '
          f'{report["device"]}')
    print(format_report(report))
    print(f'stage widths: {result.stage_widths}')
    print(f'max abs diff vs modulated (removed units\' P = 0): '
          f'{report["max_abs_diff"]:.2e}', flush=True)
    return report


def _measure_in_processes(name: str, args) -> dict:
    """``measure(name)`` in ``args.processes`` fresh processes, one after
    another; the latency ratio of each batch size is the median of the
    processes' ratios (the other figures are the same in every process, but
    the largest max abs diff is kept).

    Why fresh processes: the ratio moves by up to 0.07 between runs of the
    same command on this CPU (ResNet-50 at batch 16: 0.67-0.74), more than
    between the interleaved repeats of one run, and a backbone timed after
    another in the same process inherits its allocator's state.
    """
    import subprocess
    import sys
    import tempfile
    reports = []
    for index in range(args.processes):
        with tempfile.TemporaryDirectory() as tmp:
            out = osp.join(tmp, 'report.json')
            # this command again, measuring only ``name`` in the child
            command = [sys.executable, osp.abspath(__file__), *sys.argv[1:],
                       '--child', name, '--json-out', out]
            print(f'-- {name}, process {index + 1} of {args.processes}',
                  flush=True)
            subprocess.run(command, check=True)
            with open(out) as f:
                reports.append(json.load(f)[0])
    report = reports[0]
    for batch in report['latency']:
        ratios = [r['latency'][batch]['after_ms'] /
                  r['latency'][batch]['before_ms'] for r in reports]
        report['latency'][batch] = dict(
            ratio=statistics.median(ratios), ratios=ratios,
            before_ms=statistics.median(
                r['latency'][batch]['before_ms'] for r in reports),
            after_ms=statistics.median(
                r['latency'][batch]['after_ms'] for r in reports))
    report['latency_ratio'] = max(t['ratio']
                                  for t in report['latency'].values())
    report['max_abs_diff'] = max(r['max_abs_diff'] for r in reports)
    report['processes'] = args.processes
    if args.processes > 1:
        print(f'== {name}: latency ratio per batch, median of '
              f'{args.processes} processes: ' + ', '.join(
                  f'{batch} {t["ratio"]:.3f} '
                  f'({" / ".join(f"{r:.3f}" for r in t["ratios"])})'
                  for batch, t in report['latency'].items()), flush=True)
    return report


def _load() -> str:
    return '/'.join(f'{x:.2f}' for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--backbones', nargs='+', default=['r18', 'r50'],
                        choices=sorted(CONFIGS))
    parser.add_argument('--budget', type=float, default=0.6,
                        help='share of backbone parameters to keep')
    parser.add_argument('--coupled', action='store_true',
                        help='also prune the channels of each stage\'s '
                        'residual stream')
    parser.add_argument('--checkpoint',
                        help='trained MA-Net checkpoint of the first backbone')
    parser.add_argument('--round-to', type=int, default=1,
                        help='round pruned widths up to multiples of this')
    parser.add_argument('--fuse-bn', action='store_true',
                        help='fold batch norms into the convs of both '
                        'networks before timing')
    parser.add_argument('--nchw', action='store_true',
                        help='time in NCHW instead of channels-last')
    parser.add_argument('--input-size', type=int, default=224)
    parser.add_argument('--device', default='cpu',
                        help='where the latencies are timed (cuda: '
                        'synchronized, 10 warm-up passes)')
    parser.add_argument('--batches', type=int, nargs='+', default=[1, 16],
                        help='batch sizes timed')
    parser.add_argument('--repeats', type=int, default=30,
                        help='interleaved passes of each network per batch '
                        'size')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads (0: torch\'s default, one '
                        'per core). One thread measures the work: with '
                        'more, on a CPU shared with other jobs, a '
                        'descheduled worker stalls every op')
    parser.add_argument('--processes', type=int, default=3,
                        help='fresh processes per backbone; its ratios are '
                        'the medians over them')
    parser.add_argument('--in-process', action='store_true',
                        help='measure every backbone in this process (what '
                        'each fresh process does)')
    # a process of --processes: measures this one backbone in process and
    # gives its figures to the parent, which prints the last line
    parser.add_argument('--child', choices=sorted(CONFIGS),
                        help=argparse.SUPPRESS)
    parser.add_argument('--json-out', help='save every figure as JSON')
    args = parser.parse_args()
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error(f'--device {args.device}: torch sees no CUDA device')
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'torch threads {torch.get_num_threads()}, CPUs '
          f'{os.cpu_count()}, load average (1/5/15 min) before: {_load()}')
    if args.child:
        reports = [measure(args.child, args)]
    elif args.in_process:
        reports = [measure(name, args) for name in args.backbones]
    else:
        reports = [_measure_in_processes(name, args)
                   for name in args.backbones]
    print(f'load average after: {_load()}')
    if args.json_out:
        with open(args.json_out, 'w') as f:
            json.dump(reports, f, indent=2)
    if args.child:
        return
    print(f'pruning: params_ratio='
          f'{max(r["params_ratio"] for r in reports):.3f} '
          f'latency_ratio={max(r["latency_ratio"] for r in reports):.3f} '
          f'max_abs_diff={max(r["max_abs_diff"] for r in reports):.2e}')


if __name__ == '__main__':
    main()
