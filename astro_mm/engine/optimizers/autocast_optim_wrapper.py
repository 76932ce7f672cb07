"""Mixed precision where mmengine's ``AmpOptimWrapper`` cannot run.

mmengine's ``AmpOptimWrapper`` asserts a CUDA / NPU / MLU device, so
``tools/train.py --amp`` would fail on a CPU machine. This wrapper
autocasts the forward to bfloat16 on any device (bfloat16 keeps float32's
exponent range, so it needs no loss scaling) and otherwise is mmengine's
plain ``OptimWrapper``. ``tools/train.py --amp`` picks it when no CUDA
device is visible.

bfloat16 only pays where the hardware computes it: on a CPU without native
bfloat16 (avx512_bf16, AMX) torch emulates it, and a ResNet-20 step
measured 14x slower than in float32 on an AVX2-only AMD EPYC (2.4 s against
0.17 s) and 1.3x slower on an AVX-512 Intel Xeon without avx512_bf16
(benchmarks/autocast_speed.py, RESULTS.md). There the wrapper trains in float32,
with a warning, unless ``float32_if_emulated=False``: the result is as
accurate (float32 is the reference bfloat16 approximates), only the
precision named in the config is not the one used, which the warning and
the suite's result.json (``machine.native_bfloat16``) record.
"""
import logging
from contextlib import contextmanager
from typing import Optional, Set, Union

import torch
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from torch import nn

from astro_mm.registry import OPTIM_WRAPPERS


def cpu_flags(cpuinfo: str = '/proc/cpuinfo') -> Optional[Set[str]]:
    """The CPU's feature flags (x86 ``flags``, Arm ``Features``) from
    ``cpuinfo``, or None where the file is not there (not Linux)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() in ('flags', 'Features'):
                    return set(value.split())
    except OSError:
        return None
    return set()


def native_bfloat16(device_type: str = 'cpu') -> bool:
    """Whether ``device_type`` computes bfloat16 in hardware (a CPU with
    avx512_bf16, AMX or Arm's bf16, a CUDA device of compute capability 8
    or later); elsewhere torch emulates it, slower than float32.

    On a CPU the flags decide, not ``torch.ops.mkldnn.
    _is_mkldnn_bf16_supported()``: that is True on any AVX-512 CPU, and on
    an Intel Xeon with AVX-512 but no avx512_bf16 a ResNet-20 step in
    bfloat16 measured 1.3x slower than in float32 (RESULTS.md,
    ``benchmarks/autocast_speed.py``). Without /proc/cpuinfo, oneDNN's
    answer is the best there is.
    """
    if device_type == 'cpu':
        flags = cpu_flags()
        if flags is None:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        return bool(flags & {'avx512_bf16', 'amx_bf16', 'bf16'})
    if device_type == 'cuda':
        return torch.cuda.is_bf16_supported(including_emulation=False)
    return True  # other accelerators: trust the config


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward runs under ``torch.autocast``.

    Args:
        dtype (str | torch.dtype): The autocast dtype (default
            ``'bfloat16'``; float16 needs loss scaling: use mmengine's
            ``AmpOptimWrapper`` on a GPU).
        float32_if_emulated (bool): Train in float32 (with a warning)
            where the device has no native bfloat16 (default True).
        **kwargs: ``OptimWrapper``'s arguments.
    """

    def __init__(self, dtype: Union[str, torch.dtype] = 'bfloat16',
                 float32_if_emulated: bool = True, **kwargs):
        super().__init__(**kwargs)
        if isinstance(dtype, str):
            if dtype not in ('bfloat16', 'float32'):
                raise ValueError('AutocastOptimWrapper dtype must be '
                                 f"'bfloat16' or 'float32', got {dtype!r} "
                                 '(float16 needs AmpOptimWrapper\'s loss '
                                 'scaling)')
            dtype = getattr(torch, dtype)
        self.cast_dtype = dtype
        self.float32_if_emulated = float32_if_emulated
        self._dtype_by_device = {}  # checked once per device, not per step

    def _autocast_dtype(self, device_type: str) -> torch.dtype:
        """``cast_dtype``, or float32 where bfloat16 would be emulated."""
        if device_type not in self._dtype_by_device:
            emulated = (self.cast_dtype == torch.bfloat16 and
                        self.float32_if_emulated and
                        not native_bfloat16(device_type))
            if emulated:
                print_log(
                    f'AutocastOptimWrapper: this {device_type} has no native '
                    'bfloat16 (torch would emulate it, 1.3x to 14x slower '
                    'than float32): training in float32 instead of the config\'s '
                    'optim_wrapper.dtype=bfloat16 (set optim_wrapper.'
                    'float32_if_emulated=False to keep bfloat16)',
                    logger='current', level=logging.WARNING)
            self._dtype_by_device[device_type] = (
                torch.float32 if emulated else self.cast_dtype)
        return self._dtype_by_device[device_type]

    @contextmanager
    def optim_context(self, model: nn.Module):
        param = next(model.parameters(), None)
        device = param.device.type if param is not None else 'cpu'
        dtype = self._autocast_dtype(device)
        with super().optim_context(model), torch.autocast(
                device_type=device, dtype=dtype,
                enabled=dtype != torch.float32):
            yield
