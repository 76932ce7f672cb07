"""What pruning bought: parameters, FLOPs and latency, before and after."""
import statistics
import time
from collections import defaultdict
from typing import Dict, Optional, Sequence

import torch
from torch import nn


def params_by_stage(backbone: nn.Module) -> Dict[str, int]:
    """Parameters per top-level child (``layer1`` ... ``layer4``, stem)."""
    counts = defaultdict(int)
    for name, param in backbone.named_parameters():
        counts[name.split('.')[0]] += param.numel()
    return dict(counts)


def flops(backbone: nn.Module, input_size: int,
          in_channels: int = 3) -> float:
    """Multiply-adds of the convs and linears in one forward at
    ``input_size`` (fvcore's and mmengine's convention: 1 MAC = 1 FLOP;
    ResNet-18 at 224 px: 1.8 G). Counted with hooks because mmengine's
    FlopAnalyzer fails on the None children these ResNets hold."""
    total = [0]

    def count(module, inputs, output):
        if isinstance(module, nn.modules.conv._ConvNd):
            per_output = (module.in_channels // module.groups) * int(
                torch.tensor(module.kernel_size).prod())
        else:
            per_output = module.in_features
        total[0] += output.numel() * per_output

    handles = [
        m.register_forward_hook(count) for m in backbone.modules()
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))
    ]
    try:
        with torch.no_grad():
            backbone.eval()  # mmpretrain's ResNet.train() returns None
            backbone(torch.randn(1, in_channels, input_size, input_size))
    finally:
        for handle in handles:
            handle.remove()
    return float(total[0])


def input_channels(backbone: nn.Module) -> int:
    """Image channels a backbone reads: its first conv's input channels."""
    first = next((m for m in backbone.modules()
                  if isinstance(m, nn.modules.conv._ConvNd)), None)
    return first.in_channels if first is not None else 3


def device_name(device: str) -> str:
    """What a report says it timed on: the GPU's name, or the CPU's vector
    capability."""
    device = torch.device(device)
    if device.type == 'cuda':
        return f'{device} ({torch.cuda.get_device_name(device)})'
    return f'cpu ({torch.backends.cpu.get_cpu_capability()})'


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


@torch.no_grad()
def latency(backbone: nn.Module, input_size: int, batch: int,
            repeats: int = 10, warmup: int = 3,
            channels_last: bool = False) -> float:
    """Median seconds of one forward pass (eval mode, after warm-up), on
    the device the backbone's parameters are on (a CUDA pass is timed from
    a synchronized start to a synchronized end: kernels run
    asynchronously)."""
    backbone.eval()
    device = next(backbone.parameters()).device
    x = torch.randn(batch, input_channels(backbone), input_size, input_size,
                    device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    times = []
    for i in range(warmup + repeats):
        _synchronize(device)
        start = time.perf_counter()
        backbone(x)
        _synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare(before: nn.Module, after: nn.Module, input_size: int,
            batches: Sequence[int] = (1, 16), repeats: int = 10,
            channels_last: bool = False, device: str = 'cpu',
            warmup: Optional[int] = None) -> dict:
    """Params, FLOPs, per-stage share removed and latency, side by side.

    Latencies of the two networks are measured interleaved: after a
    warm-up pass of each, ``repeats`` rounds time one forward pass of each,
    in the order before-after, then after-before (so neither network
    always runs right after the other), and the medians are compared; noise
    on a shared machine then hits both alike. ``channels_last`` runs both
    in that memory format (the faster one for CPU inference: oneDNN convs
    and a vectorized max-pool; ``before`` and ``after`` are converted in
    place).

    ``device``: where the latencies are timed (both networks are moved
    there in place; params and FLOPs are counted on the CPU first). Each
    pass is timed from a synchronized start to a synchronized end; the
    warm-up (``warmup`` passes of each network, default 1 on a CPU and 10
    on a GPU, whose first passes pick their kernels) is not timed.
    torch.utils.benchmark's Timer times blocks of one statement; the
    interleaving alternates two networks pass by pass, so the passes are
    timed here, and the medians compared.
    """
    channels = input_channels(before)
    stages_before, stages_after = params_by_stage(before), params_by_stage(after)
    report = dict(
        params_before=sum(stages_before.values()),
        params_after=sum(stages_after.values()),
        flops_before=flops(before, input_size, channels),
        flops_after=flops(after, input_size, channels),
        removed_per_stage={
            stage: round(1 - stages_after.get(stage, 0) / count, 4)
            for stage, count in stages_before.items() if count
        },
        latency={}, channels_last=channels_last,
        device=device_name(device))
    if warmup is None:
        warmup = 10 if torch.device(device).type == 'cuda' else 1
    before.to(device)
    after.to(device)
    if channels_last:
        before.to(memory_format=torch.channels_last)
        after.to(memory_format=torch.channels_last)
    for batch in batches:
        times = {'before': [], 'after': []}
        networks = {'before': before, 'after': after}
        for name, network in networks.items():  # warm-up
            latency(network, input_size, batch, repeats=1,
                    warmup=warmup - 1, channels_last=channels_last)
        for index in range(repeats):
            order = ('before', 'after') if index % 2 == 0 else \
                ('after', 'before')
            for name in order:
                times[name].append(latency(
                    networks[name], input_size, batch, repeats=1, warmup=0,
                    channels_last=channels_last))
        report['latency'][f'batch{batch}'] = dict(
            before_ms=1e3 * statistics.median(times['before']),
            after_ms=1e3 * statistics.median(times['after']))
    report['params_ratio'] = report['params_after'] / report['params_before']
    report['flops_ratio'] = report['flops_after'] / report['flops_before']
    return report


def format_report(report: dict) -> str:
    """A printable table of :func:`compare`'s report."""
    lines = [
        f'{"":<22}{"before":>14}{"after":>14}{"ratio":>8}',
        f'{"params (M)":<22}{report["params_before"] / 1e6:>14.3f}'
        f'{report["params_after"] / 1e6:>14.3f}{report["params_ratio"]:>8.3f}',
        f'{"FLOPs (G)":<22}{report["flops_before"] / 1e9:>14.3f}'
        f'{report["flops_after"] / 1e9:>14.3f}{report["flops_ratio"]:>8.3f}',
    ]
    if 'device' in report:
        lines.append(f'latency timed on {report["device"]}')
    for batch, t in report['latency'].items():
        lines.append(f'{"latency " + batch + " (ms)":<22}{t["before_ms"]:>14.2f}'
                     f'{t["after_ms"]:>14.2f}'
                     f'{t["after_ms"] / t["before_ms"]:>8.3f}')
    stages = ', '.join(f'{k} {100 * v:.1f} %'
                       for k, v in report['removed_per_stage'].items())
    lines.append(f'removed per stage: {stages}')
    return '\n'.join(lines)
