"""Mixed precision where mmengine's ``AmpOptimWrapper`` cannot run.

mmengine's ``AmpOptimWrapper`` asserts a CUDA / NPU / MLU device, so
``tools/train.py --amp`` would fail on a CPU machine. This wrapper
autocasts the forward to bfloat16 on any device (bfloat16 keeps float32's
exponent range, so it needs no loss scaling) and otherwise is mmengine's
plain ``OptimWrapper``. ``tools/train.py --amp`` picks it when no CUDA
device is visible.
"""
from contextlib import contextmanager
from typing import Union

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from astro_mm.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward runs under ``torch.autocast``.

    Args:
        dtype (str | torch.dtype): The autocast dtype (default
            ``'bfloat16'``; float16 needs loss scaling: use mmengine's
            ``AmpOptimWrapper`` on a GPU).
        **kwargs: ``OptimWrapper``'s arguments.
    """

    def __init__(self, dtype: Union[str, torch.dtype] = 'bfloat16',
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(dtype, str):
            if dtype not in ('bfloat16', 'float32'):
                raise ValueError('AutocastOptimWrapper dtype must be '
                                 f"'bfloat16' or 'float32', got {dtype!r} "
                                 '(float16 needs AmpOptimWrapper\'s loss '
                                 'scaling)')
            dtype = getattr(torch, dtype)
        self.cast_dtype = dtype

    @contextmanager
    def optim_context(self, model: nn.Module):
        param = next(model.parameters(), None)
        device = param.device.type if param is not None else 'cpu'
        with super().optim_context(model), torch.autocast(
                device_type=device, dtype=self.cast_dtype):
            yield
