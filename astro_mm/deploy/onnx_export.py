"""ONNX export of a deployed network: a pruned classifier or backbone.

The graph is traced from the network in eval mode (batch norms use their
running statistics and are folded into the convolutions), at a fixed image
size and with a dynamic batch axis: axis 0 of the input and of every output
is named ``batch``. Its input is what the config's data preprocessor
outputs (normalized NCHW float32), as in mmdeploy's exports:
normalization stays with the caller. Outputs: a classifier's class scores
before softmax (``scores``, the ``tensor`` mode of mmpretrain's
classifiers), or a backbone's feature maps (``feat0``, ``feat1``, ... in
the order the backbone returns them).

Exporter: torch's TorchScript-based one (``torch.onnx.export(...,
dynamo=False)``), on purpose. The default since torch 2.9, the
torch.export-based exporter, needs onnxscript (and onnx-ir) besides onnx,
translates through onnxscript's optimizer, and expresses the dynamic batch
through ``torch.export`` constraints that fail on data-dependent Python in
a model's forward. The TorchScript exporter needs only torch to write the
graph (onnx checks it), is the one mmdeploy exports mmpretrain and mmdet
models with, and works offline with the pinned set-up. torch >= 2.9 warns
that it is deprecated; it is present in the pinned torch 2.11. If a torch
release removes it, this module is the one place to change (``dynamo=True``
with ``dynamic_shapes``, and onnxscript in requirements/constraints.txt).

Opset 17 (:data:`OPSET`): it has ``LayerNormalization``, so the transformer
family exports without decomposing it, and onnxruntime has run it since
1.12 (TensorRT since 8.5).
"""
import io
import os.path as osp
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from astro_mm.compat import atomic_write_bytes
from .deployable import PARTS

OPSET = 17
INPUT_NAME = 'input'
BATCH_AXIS = 'batch'
# the batch the graph is traced with: not 1, so that no size-1 broadcast
# is baked into the graph
_TRACE_BATCH = 2


class ExportMismatchError(RuntimeError):
    """onnxruntime's outputs of an export differ from torch's."""


@dataclass
class OnnxExport:
    """What :func:`export_onnx` wrote.

    Attributes:
        path (str): The .onnx file.
        part (str): ``'model'`` (class scores out) or ``'backbone'``
            (feature maps out).
        input_shape (tuple): (C, H, W) of one image; the batch is dynamic.
        output_names (list[str]): The graph's outputs, in order.
        opset (int): The ONNX opset.
    """
    path: str
    part: str
    input_shape: Tuple[int, int, int]
    output_names: List[str]
    opset: int


class TensorOutputs(nn.Module):
    """The network as the graph sees it: one image batch in, a tuple of
    tensors out (mmpretrain's classifiers take a ``mode``, backbones
    return a tuple of levels)."""

    def __init__(self, module: nn.Module, part: str):
        super().__init__()
        if part not in PARTS:
            raise ValueError(f'part must be one of {PARTS}, got {part!r}')
        self.module = module
        self.part = part

    def forward(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        if self.part == 'model':
            outputs = self.module(inputs, mode='tensor')
        else:
            outputs = self.module(inputs)
        if isinstance(outputs, torch.Tensor):
            return (outputs, )
        return tuple(outputs)


def output_names(part: str, num_outputs: int) -> List[str]:
    """A classifier's ``scores``; a backbone's ``feat0`` ... (its levels)."""
    if part == 'model':
        if num_outputs != 1:
            raise ValueError(f'a classifier gives one tensor of scores, this '
                             f'one gives {num_outputs}')
        return ['scores']
    return [f'feat{i}' for i in range(num_outputs)]


def _import_onnx():
    try:
        import onnx
    except ImportError as err:
        raise ImportError(
            'ONNX export checks the graph with the onnx package: pip install '
            'onnx (tools/setup_env.sh installs the pinned version)') from err
    return onnx


def export_onnx(module: nn.Module,
                out: str,
                input_shape: Sequence[int],
                part: str = 'model',
                opset: int = OPSET) -> OnnxExport:
    """Export ``module`` to ``out`` (written atomically) and check the graph.

    Args:
        module (nn.Module): A classifier (``part='model'``) or a backbone,
            e.g. :func:`~.deployable.build_deployable`'s ``module``.
        out (str): The .onnx file to write.
        input_shape (Sequence[int]): (C, H, W) of one image.
        part (str): ``'model'`` or ``'backbone'``.
        opset (int): The ONNX opset (default :data:`OPSET`).

    Returns:
        OnnxExport: What was written.

    Raises:
        ValueError: ``input_shape`` is not three positive sizes.
    """
    onnx = _import_onnx()
    input_shape = tuple(int(s) for s in input_shape)
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f'input_shape must be (C, H, W), got {input_shape}')
    graph = TensorOutputs(module, part).eval()
    dummy = torch.randn(_TRACE_BATCH, *input_shape)
    with torch.no_grad():
        names = output_names(part, len(graph(dummy)))
        buffer = io.BytesIO()
        torch.onnx.export(
            graph, (dummy, ), buffer, dynamo=False, opset_version=opset,
            input_names=[INPUT_NAME], output_names=names,
            dynamic_axes={name: {0: BATCH_AXIS}
                          for name in [INPUT_NAME] + names},
            do_constant_folding=True)
    data = buffer.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data))
    atomic_write_bytes(data, out)
    return OnnxExport(osp.abspath(out), part, input_shape, names, opset)


def onnxruntime_outputs(path: str, inputs: np.ndarray) -> List[np.ndarray]:
    """Run the exported graph on ``inputs`` with onnxruntime (CPU)."""
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError(
            'running the export needs onnxruntime: pip install onnxruntime '
            '(tools/setup_env.sh installs the pinned version)') from err
    session = onnxruntime.InferenceSession(
        path, providers=['CPUExecutionProvider'])
    return session.run(None, {INPUT_NAME: inputs.astype(np.float32)})


def verify_onnx(export: OnnxExport, module: nn.Module,
                batch_sizes: Sequence[int] = (2, 3), atol: float = 1e-4,
                seed: int = 0) -> float:
    """Compare onnxruntime's outputs with torch's on random batches.

    Args:
        export (OnnxExport): What :func:`export_onnx` wrote.
        module (nn.Module): The network it was exported from.
        batch_sizes (Sequence[int]): One random batch of each size (sizes
            other than the traced one test the dynamic batch axis).
        atol (float): Largest absolute difference allowed.
        seed (int): Seed of the random inputs.

    Returns:
        float: The largest absolute difference over every output.

    Raises:
        ExportMismatchError: An output differs by more than ``atol``, or
            has another shape.
    """
    graph = TensorOutputs(module, export.part).eval()
    generator = torch.Generator().manual_seed(seed)
    worst = 0.
    for batch in batch_sizes:
        inputs = torch.randn(batch, *export.input_shape, generator=generator)
        with torch.no_grad():
            expected = [t.numpy() for t in graph(inputs)]
        actual = onnxruntime_outputs(export.path, inputs.numpy())
        for name, want, got in zip(export.output_names, expected, actual):
            if want.shape != got.shape:
                raise ExportMismatchError(
                    f'{export.path}: output {name} has shape {got.shape} '
                    f'at batch {batch}, torch gives {want.shape}')
            diff = float(np.abs(want - got).max())
            if diff > atol:
                raise ExportMismatchError(
                    f'{export.path}: output {name} differs from torch by '
                    f'{diff:.3g} at batch {batch} (allowed {atol:g})')
            worst = max(worst, diff)
    return worst
