"""AutocastOptimWrapper autocasts the forward to bfloat16 where the device
computes bfloat16 (avx512_bf16, AMX, Arm bf16: the CPU flags, not oneDNN's
answer), and trains in float32, with a warning, where torch would
emulate it (14x slower than float32 on an AVX2-only CPU: RESULTS.md)."""
import logging

import pytest
import torch

from astro_mm.engine.optimizers import autocast_optim_wrapper as module
from astro_mm.engine.optimizers.autocast_optim_wrapper import \
    AutocastOptimWrapper


def forward_dtype(wrapper, model):
    with wrapper.optim_context(model):
        return model(torch.randn(2, 4)).dtype


@pytest.fixture
def model():
    return torch.nn.Linear(4, 3)


def wrapper_for(model, **kwargs):
    return AutocastOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), **kwargs)


def test_bfloat16_where_the_cpu_computes_it(model, monkeypatch):
    monkeypatch.setattr(module, 'native_bfloat16', lambda device: True)
    assert forward_dtype(wrapper_for(model), model) == torch.bfloat16


def test_float32_with_a_warning_where_bfloat16_is_emulated(
        model, monkeypatch):
    monkeypatch.setattr(module, 'native_bfloat16', lambda device: False)
    # mmengine's logger writes to the stream it was made with: record the
    # calls instead of reading a captured stdout
    logged = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, logger=None, level=None: logged.append(
                            (msg, level)))
    wrapper = wrapper_for(model)
    assert forward_dtype(wrapper, model) == torch.float32
    assert forward_dtype(wrapper, model) == torch.float32
    assert len(logged) == 1  # once per wrapper, not per step
    message, level = logged[0]
    assert level == logging.WARNING
    assert 'no native bfloat16' in message
    assert 'float32_if_emulated=False' in message
    # the step still trains: the weights move
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        loss = model(torch.randn(2, 4)).sum()
    wrapper.update_params(loss)
    assert not torch.equal(before, model.weight)


def test_bfloat16_kept_on_request_even_where_emulated(model, monkeypatch):
    monkeypatch.setattr(module, 'native_bfloat16', lambda device: False)
    wrapper = wrapper_for(model, float32_if_emulated=False)
    assert forward_dtype(wrapper, model) == torch.bfloat16


def test_float32_config_never_autocasts(model, monkeypatch):
    monkeypatch.setattr(module, 'native_bfloat16', lambda device: True)
    wrapper = wrapper_for(model, dtype='float32')
    with wrapper.optim_context(model):
        assert not torch.is_autocast_enabled('cpu')


def test_unknown_dtype_is_refused_by_name(model):
    with pytest.raises(ValueError, match="dtype.*'float16'"):
        wrapper_for(model, dtype='float16')


@pytest.mark.parametrize('line,native', [
    # the Intel Xeon of 2026-12-07: AVX-512 without avx512_bf16, where
    # oneDNN says yes and a bfloat16 step is 1.3x slower than float32
    ('flags\t\t: fpu sse2 avx2 avx512f avx512bw avx512vl avx512_vnni', False),
    ('flags\t\t: fpu sse2 avx2 fma', False),  # the AVX2-only AMD EPYC
    ('flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni', True),
    ('flags\t\t: fpu avx512f amx_bf16 amx_tile', True),
    ('Features\t: fp asimd sve bf16 i8mm', True),  # Arm (Graviton 3)
    ('Features\t: fp asimd', False),
])
def test_native_bfloat16_reads_the_cpu_flags(tmp_path, monkeypatch, line,
                                              native):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text(f'processor\t: 0\nmodel name\t: x\n{line}\n\n')
    real = module.cpu_flags
    monkeypatch.setattr(module, 'cpu_flags',
                        lambda: real(str(cpuinfo)))
    assert module.native_bfloat16('cpu') is native


def test_native_bfloat16_without_cpuinfo_asks_onednn(monkeypatch):
    assert module.cpu_flags('/nonexistent/cpuinfo') is None
    monkeypatch.setattr(module, 'cpu_flags', lambda: None)
    expected = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    assert module.native_bfloat16('cpu') is expected
