"""What benchmarks/modulation_overhead.py measures (without its long run):
astro_mm.analysis.modulation_overhead."""
import pytest
import torch
from torch import nn

from astro_mm.analysis import modulation_overhead as overhead


class _Model(nn.Module):
    """A linear layer whose training step also makes a temporary of
    ``temp_bytes`` that it frees again."""

    def __init__(self, temp_bytes):
        super().__init__()
        self.fc = nn.Linear(256, 256, bias=False)  # 256 KiB of weights
        self.temp_numel = temp_bytes // 4

    def train_step(self, batch, optimizer):
        temp = torch.ones(self.temp_numel)
        self.fc(batch).sum().add(temp.sum()).backward()
        del temp
        optimizer.step()
        optimizer.zero_grad()  # frees the gradients: set to None


def _arm(temp_bytes):
    model = _Model(temp_bytes)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return overhead.Arm(model, optimizer, optimizer)


def test_peak_memory_is_a_peak_with_gradients():
    weights = 256 * 256 * 4
    batches = [torch.ones(4, 256)]
    temp = 2**22
    peak = overhead.peak_memory(lambda: _arm(temp), 5, batches, 'cpu')
    # weights + gradients + momentum + the temporary, once: not 5 temporaries
    # added up, and the gradients counted although zero_grad freed them
    assert 3 * weights + temp <= peak < 3 * weights + 2 * temp


def test_time_per_w_update_counts_tnet_optimizer_steps():
    arm = _arm(4)
    for _ in range(3):
        arm.step(0, torch.ones(2, 256))
    assert arm.w_updates == 3
    timing = dict(
        times=dict(plain=dict(warmup=[1.0] * 2, phi=[1.0] * 4, tnet=[1.0] * 4),
                   astro=dict(warmup=[1.0] * 2, phi=[0.5] * 4,
                              tnet=[1.1] * 4)),
        w_updates=dict(plain=10, astro=6))
    r = overhead.ratios(timing, dict(plain=100, astro=110))
    assert r['time_ratio'] == pytest.approx(8.4 / 10)
    assert r['mem_ratio'] == pytest.approx(1.1)
    assert r['w_round_ratio'] == pytest.approx(1.1)
    assert r['phi_round_ratio'] == pytest.approx(0.5)
    # (8.4 s / 6 updates) / (10 s / 10 updates)
    assert r['time_per_w_update_ratio'] == pytest.approx(1.4)
    assert list(r)[-1] == 'time_per_w_update_ratio'


def test_memory_pass_sees_two_steps_of_every_phase():
    phases = ['warmup'] * 6 + ['phi'] * 6 + ['tnet'] * 6 + ['phi'] * 6
    assert overhead.memory_steps(phases) == 14
    assert overhead.memory_steps(['warmup'] * 3 + ['batch'] * 9) == 5
