"""AutocastOptimWrapper autocasts the forward to bfloat16 where the device
computes bfloat16, and trains in float32, with a warning, where torch would
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
