"""What pruning bought: parameters, FLOPs and latency, before and after.

FLOPs are counted by mmengine's ``FlopAnalyzer`` (``mmengine.analysis``,
fvcore's counter as OpenMMLab keeps it; mmdet's and mmpretrain's
``get_flops`` tools use it too, so the figures compare with theirs). It is
chosen over a counter of module hooks (the hand-written one it replaces,
Torch-Pruning's ``count_ops_and_params``, thop) because it traces the
forward pass with ``torch.jit`` and so sees every matrix product wherever
it is written: the products of attention (``q @ k^T``, ``attn @ v``) are
functional calls (mmpretrain's and timm's ViTs call
``F.scaled_dot_product_attention``, Swin ``@``), which no module hook sees;
a hook counter misses them (9 % of a small ViT's FLOPs, see
tests/pruning/test_flop_count.py). Torch-Pruning's counter, keyed by exact module
type, also skips subclasses such as mmcv's ``Linear`` (the FFN of
mmpretrain's ViT): it gives that ViT 0.25 M MACs of 0.41 M.

What is counted (:data:`MAC_HANDLES`): the multiply-adds of the matrix
products, 1 MAC = 1 FLOP (fvcore's and mmengine's convention; ResNet-18 at
224 px: 1.8 G): convs and linears, ``matmul`` / ``bmm`` / ``baddbmm`` /
``einsum``, and scaled dot-product attention (mmengine has no handle for
the last two: they are added here). Norms, activations, pooling and
upsampling are not counted (mmengine counts batch / layer norms and adaptive
pooling by default; dropped here): a FLOPs budget
(:class:`~.cost.KeptCost` with ``measure='flops'``, :mod:`.baselines`) is
the MACs of the backbone's convs and linears (:data:`BUDGET_OPERATORS`),
so for a CNN the report's FLOPs are the budget's measure exactly, and for
a transformer they add its attention products, which no budget counts
(:func:`compare` records the split, ``flops_by_operator``).
"""
import statistics
import time
from collections import defaultdict
from math import prod
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import (addmm_flop_jit, bmm_flop_jit,
                                           conv_flop_jit, einsum_flop_jit,
                                           get_shape, linear_flop_jit,
                                           matmul_flop_jit)
from torch import nn

# What a FLOPs budget counts: the MACs of the conv and linear layers.
BUDGET_OPERATORS = ('conv', 'linear')


def params_by_stage(backbone: nn.Module) -> Dict[str, int]:
    """Parameters per top-level child (``layer1`` ... ``layer4``, stem)."""
    counts = defaultdict(int)
    for name, param in backbone.named_parameters():
        counts[name.split('.')[0]] += param.numel()
    return dict(counts)


def _baddbmm_flop_jit(inputs, outputs) -> int:
    """``beta * input + batch1 @ batch2`` (nn.MultiheadAttention's scores
    under a mask): the MACs of the product."""
    batch1, batch2 = get_shape(inputs[1]), get_shape(inputs[2])
    return prod(batch1) * batch2[-1]


def _attention_flop_jit(inputs, outputs) -> int:
    """``F.scaled_dot_product_attention(q, k, v)``: the MACs of
    ``q @ k^T`` and of ``softmax(.) @ v`` (a causal mask is not discounted:
    the math kernel computes every score)."""
    query, key, value = (get_shape(tensor) for tensor in inputs[:3])
    queries = prod(query[:-1])  # batch x heads x query positions
    return queries * key[-2] * (query[-1] + value[-1])


# jit op -> MAC counter; an op's FLOPs are filed under its name without the
# ``aten::`` (``conv``: counted under that name by mmengine's handle)
MAC_HANDLES = {
    'aten::_convolution': conv_flop_jit,
    'aten::linear': linear_flop_jit,
    'aten::addmm': addmm_flop_jit,
    'aten::mm': matmul_flop_jit,
    'aten::matmul': matmul_flop_jit,
    'aten::bmm': bmm_flop_jit,
    'aten::baddbmm': _baddbmm_flop_jit,
    'aten::einsum': einsum_flop_jit,
    'aten::scaled_dot_product_attention': _attention_flop_jit,
}


def mac_analyzer(model: nn.Module, inputs) -> FlopAnalyzer:
    """mmengine's ``FlopAnalyzer`` of one forward of ``model`` on
    ``inputs``, counting only the matrix products (:data:`MAC_HANDLES`).

    The caller puts the model in eval mode; the trace runs on the first
    query (``total()``, ``by_operator(module)``, ...). Other ops (norms,
    activations, pooling, additions, detectors' NMS) are left out without
    a warning.

    Args:
        model (nn.Module): Its ``forward(*inputs)`` is traced.
        inputs (Tensor | tuple[Tensor]): Its inputs.
    """
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.clear_op_handles()
    analyzer.set_op_handle(**MAC_HANDLES)
    return analyzer.unsupported_ops_warnings(False) \
        .uncalled_modules_warnings(False).tracer_warnings('none')


def _image_size(input_size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(input_size, int):
        return input_size, input_size
    height, width = input_size
    return int(height), int(width)


def flops_by_operator(backbone: nn.Module,
                      input_size: Union[int, Sequence[int]],
                      in_channels: int = 3) -> Dict[str, int]:
    """Multiply-adds of one forward of ``backbone`` on one image, by
    operator (``conv``, ``linear``, ``matmul``,
    ``scaled_dot_product_attention``, ...; those that ran), counted by
    :func:`mac_analyzer`.

    Args:
        backbone (nn.Module): Any network taking an image batch.
        input_size (int | tuple[int, int]): Square size, or (H, W).
        in_channels (int): Image channels.
    """
    height, width = _image_size(input_size)
    was_training = backbone.training
    backbone.eval()  # not chained: mmpretrain's ResNet.train() returns None
    try:
        with torch.no_grad():
            counts = mac_analyzer(
                backbone, (torch.randn(1, in_channels, height, width), )
            ).by_operator()
    finally:
        backbone.train(was_training)
    return {name: int(count) for name, count in counts.items() if count}


def flops(backbone: nn.Module, input_size: Union[int, Sequence[int]],
          in_channels: int = 3) -> float:
    """Multiply-adds of the matrix products in one forward on one image of
    ``input_size`` (:func:`flops_by_operator`, summed): for a CNN the
    convs' and linears' MACs, a FLOPs budget's measure; a transformer's
    attention products too."""
    return float(sum(flops_by_operator(backbone, input_size,
                                       in_channels).values()))


def budget_flops(by_operator: Dict[str, int]) -> int:
    """The part of :func:`flops_by_operator` a FLOPs budget counts."""
    return sum(by_operator.get(name, 0) for name in BUDGET_OPERATORS)


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

    FLOPs (:func:`flops`) are every matrix product's multiply-adds;
    ``flops_by_operator`` splits them (``before`` / ``after``): a FLOPs
    budget counts the ``conv`` and ``linear`` ones (:func:`budget_flops`),
    all of them in a CNN.
    """
    channels = input_channels(before)
    stages_before, stages_after = params_by_stage(before), params_by_stage(after)
    by_operator = dict(before=flops_by_operator(before, input_size, channels),
                       after=flops_by_operator(after, input_size, channels))
    report = dict(
        params_before=sum(stages_before.values()),
        params_after=sum(stages_after.values()),
        flops_before=float(sum(by_operator['before'].values())),
        flops_after=float(sum(by_operator['after'].values())),
        flops_by_operator=by_operator,
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
    by_operator = report.get('flops_by_operator')
    if by_operator:
        budget = {key: budget_flops(counts)
                  for key, counts in by_operator.items()}
        if budget['before'] != report['flops_before']:
            # attention's products: in the FLOPs, not in a budget's measure
            lines.append(
                f'{"  conv+linear (G)":<22}{budget["before"] / 1e9:>14.3f}'
                f'{budget["after"] / 1e9:>14.3f}'
                f'{budget["after"] / budget["before"]:>8.3f}')
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
