"""Physical pruning: equivalence, real parameter cuts, rebuild from widths."""
import math

import pytest
import torch
from mmengine.registry import DefaultScope

import astro_mm  # noqa: F401
from astro_mm.pruning import export_pruned
from astro_mm.registry import MODELS
from helpers import (TINY_RESNETS, assert_rebuilds_from_widths,
                     tiny_astronet)

DELTA = 0.2


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.set_num_threads(1)
        yield


def _prunable(algo):
    """Per modulated layer: is it a prunable slot (its units can go)?"""
    slots = set(algo.family_plan.prunable_layer_names())
    return [layer.name in slots for layer in algo.layers]


@pytest.mark.parametrize('name', sorted(TINY_RESNETS))
def test_pruned_network_computes_the_thresholded_modulated_one(name):
    algo = tiny_astronet(name)
    inputs = torch.randn(2, 3, 32, 32)
    result = export_pruned(algo, threshold=DELTA)
    # the modulated network, with the prunable slots' units under delta
    # switched off; units outside the slots (conv2 / conv3 / downsample of
    # the residual stream) are never zeroed: their P is folded as it is
    probs = algo._rows(algo.cached_probs.clone())
    prunable = _prunable(algo)
    assert any(prunable) and not all(prunable)
    expected_probs = [p * (p >= DELTA) if can_prune else p
                      for p, can_prune in zip(probs, prunable)]
    for realized, want in zip(result.probs, expected_probs):
        assert torch.equal(realized, want)
    algo.cached_probs.copy_(algo._flat(expected_probs))
    with torch.no_grad():
        expected = algo(inputs, mode='tensor')
        actual = result.model(inputs, mode='tensor')
    assert (actual - expected).abs().max() <= 1e-4
    # parameters really fall, and only inner widths changed
    assert result.params_after < result.params_before
    backbone = result.model.backbone
    assert sum(p.numel() for p in backbone.parameters()) == result.params_after
    full = algo.family_plan.inner_widths()
    assert any(w < f for name_ in full
               for w, f in zip(result.widths[name_], full[name_]))
    assert not any(m._forward_hooks for m in result.model.modules())


def test_param_budget_sets_the_threshold():
    algo = tiny_astronet('resnet18-cifar')
    probs = algo._rows(algo.cached_probs.clone())
    result = export_pruned(algo, budget=0.6)
    assert result.params_after <= 0.6 * result.params_before
    assert result.params_after > 0.45 * result.params_before  # not overshot
    # a budget ranks by P / cost: no single threshold
    assert math.isnan(result.threshold)
    # units outside the prunable slots are never zeroed by a budget
    for p, realized, can_prune in zip(probs, result.probs, _prunable(algo)):
        if not can_prune:
            assert torch.equal(realized, p)
    with pytest.raises(ValueError, match=r'budget must be in \(0, 1\]'):
        export_pruned(algo, budget=1.5)
    # the former names of budget and measure, still taken, with a warning
    with pytest.warns(DeprecationWarning, match=r'param_budget=\.\.\.\) is '
                      r'now budget'):
        renamed = export_pruned(algo, param_budget=0.6, cost='params')
    assert renamed.widths == result.widths
    with pytest.raises(TypeError, match='both param_budget'):
        export_pruned(algo, budget=0.6, param_budget=0.6)


@pytest.mark.parametrize('name', ['resnet18-cifar', 'resnet18-mmdet'])
def test_rebuilt_from_widths_loads_the_export(name):
    algo = tiny_astronet(name)
    result = export_pruned(algo, threshold=DELTA)
    # by its other name, as the detector configs write it
    assert_rebuilds_from_widths(result, TINY_RESNETS[name],
                                torch.randn(1, 3, 32, 32),
                                backbone_type='astro_mm.PrunedResNet')


def test_mismatched_widths_name_the_first_layer_and_both_shapes():
    from mmengine.runner.checkpoint import load_state_dict
    algo = tiny_astronet('resnet18-cifar')
    result = export_pruned(algo, threshold=DELTA)
    widths = {k: list(v) for k, v in result.widths.items()}
    first = next(iter(widths))
    widths[first][0] = widths[first][0] + 1 if widths[first][0] < 8 else 1
    wrong = MODELS.build(dict(type='astro_mm.PrunedResNet',
                              base=TINY_RESNETS['resnet18-cifar'],
                              widths=widths))
    state = result.model.backbone.state_dict()
    for loader in (wrong.load_state_dict, lambda s: load_state_dict(wrong, s)):
        with pytest.raises(ValueError) as err:
            loader(state)
        message = str(err.value)
        assert f'{first}.conv1' in message and 'shape' in message
        assert str(tuple(state[f'{first}.conv1.weight'].shape)) in message


def test_bad_widths_are_refused():
    with pytest.raises(ValueError, match="'layer9.0'"):
        MODELS.build(dict(type='astro_mm.PrunedResNet',
                          base=TINY_RESNETS['resnet18-cifar'],
                          widths={'layer9.0': [4]}))
    with pytest.raises(ValueError, match='width 0'):
        MODELS.build(dict(type='astro_mm.PrunedResNet',
                          base=TINY_RESNETS['resnet18-cifar'],
                          widths={'layer1.0': [0]}))


@pytest.mark.parametrize('name', ['resnet18-cifar', 'resnet50-cifar'])
def test_round_to_keeps_multiples_and_the_realized_function(name):
    algo = tiny_astronet(name)
    full = algo.family_plan.inner_widths()
    result = export_pruned(algo, budget=0.6, round_to=4)
    assert result.params_after <= 0.6 * result.params_before
    for block, widths in result.widths.items():
        for width, original in zip(widths, full[block]):
            assert width % 4 == 0 or width == original, (block, widths)
    # the export computes the algorithm under the P it reports realized
    inputs = torch.randn(2, 3, 32, 32)
    algo.cached_probs.copy_(torch.cat(result.probs))
    with torch.no_grad():
        expected = algo(inputs, mode='tensor')
        actual = result.model(inputs, mode='tensor')
    assert (actual - expected).abs().max() <= 1e-4
    # a budget has no threshold (NaN): take the smallest P the budget kept
    # in a prunable slot; every unit it kept has P >= that, so the bare
    # threshold export keeps at least as much, and rounding keeps more
    # units than the bare threshold would
    assert math.isnan(result.threshold)
    kept = [realized[realized != 0] for realized, can_prune in zip(
        result.probs, _prunable(algo)) if can_prune]
    smallest = float(min(k.min() for k in kept if k.numel()))
    bare = export_pruned(tiny_astronet(name), threshold=smallest)
    rounded = export_pruned(tiny_astronet(name), threshold=smallest,
                            round_to=4)
    for block, widths in bare.widths.items():
        for w_budget, w_bare, w_rounded, original in zip(
                result.widths[block], widths, rounded.widths[block],
                full[block]):
            assert w_bare >= w_budget, block
            assert w_rounded >= w_bare, block
            assert w_rounded % 4 == 0 or w_rounded == original, block
    assert sum(map(sum, rounded.widths.values())) > sum(
        map(sum, bare.widths.values()))
    with pytest.raises(ValueError, match='round_to'):
        export_pruned(algo, round_to=0)


def test_the_latency_report_names_its_device_and_refuses_a_missing_gpu():
    from torch import nn

    from astro_mm.pruning.report import compare, format_report
    from conftest import run_tool
    torch.manual_seed(0)
    before = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 8, 3))
    after = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 8, 3))
    report = compare(before, after, 16, batches=(2, ), repeats=3,
                     device='cpu')
    capability = torch.backends.cpu.get_cpu_capability()
    assert report['device'] == f'cpu ({capability})'
    assert f'latency timed on cpu ({capability})' in format_report(report)
    assert report['latency']['batch2']['after_ms'] > 0
    if not torch.cuda.is_available():
        proc = run_tool('tools/prune.py', 'c.py', 'c.pth', '--out', 'x.pth',
                        '--device', 'cuda', check=False)
        assert proc.returncode != 0
        assert '--device cuda: torch sees no CUDA device' in proc.stderr
