"""Coupled pruning of the residual stream (astro and the Torch-Pruning
baselines): function kept, removed channels' contributions exactly gone,
budget met, checkpoint rebuilt from its meta (tools/prune.py --coupled)."""
from argparse import Namespace

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import astro_mm  # noqa: F401
from astro_mm.apis import prune_checkpoint
from astro_mm.families import inner_widths, resolve_family, stage_widths
from astro_mm.pruning import export_pruned, prune_baseline, silence_channels
from astro_mm.pruning.coupled import STEM, neck_widths
from astro_mm.registry import MODELS
from conftest import ROOT
from helpers import (BASELINE_METHODS, TINY_RESNETS, assert_backbone_holds,
                     backbone_state, budget_resnet20,
                     switch_off_removed_inner_channels, tiny_astronet,
                     tiny_batches, tiny_plain_classifier)

NAMES = ('resnet18-cifar', 'resnet50-cifar')
# astro_stem: the stem modulated too, so that P ranks its channels (a group
# of its own in ResNet-50, part of layer1's stream in ResNet-18)
ALL_METHODS = ('astro', 'astro_stem') + BASELINE_METHODS
STEM_MODULATED = dict(modulated_layers=dict(exclude=[]))


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.set_num_threads(1)
        yield


def _prune(name, method, budget, **kwargs):
    """(the unpruned network, its coupled prune); astro: the algorithm."""
    if method.startswith('astro'):
        algo = tiny_astronet(name, **(STEM_MODULATED
                                      if method == 'astro_stem' else {}))
        return algo, export_pruned(algo, coupled=True, budget=budget,
                                   **kwargs)
    model = tiny_plain_classifier(name)
    data = tiny_batches() if method == 'taylor' else None
    return model, prune_baseline(model, method, budget, data=data,
                                 coupled=True, **kwargs,
                                 plan=resolve_family(model.backbone, strict=True))


def _switch_off_removed(model, method, result):
    """The unpruned network with every removed channel contributing
    nothing: the writers of removed stage channels and the norms of removed
    inner channels output 0 there. Returns its backbone."""
    if method.startswith('astro'):
        # the algorithm under the P the export realized (0 where an inner
        # or a modulated stage unit went); the unmodulated writers (the
        # stem) switched off by hand
        model.cached_probs.copy_(torch.cat(result.probs))
        # the backbone called alone (stage outputs) scales by these too
        model.scaler.probs = model.current_probs()
        backbone = model.architecture.backbone
    else:
        backbone = model.backbone
        # the stages are switched off below
        switch_off_removed_inner_channels(backbone, result.kept)
    silence_channels(backbone, result.removed_channels)
    return backbone


def _outputs(model, backbone, inputs):
    with torch.no_grad():
        return model(inputs, mode='tensor'), backbone(inputs)


@pytest.mark.parametrize('method', ALL_METHODS)
def test_a_coupled_prune_that_removes_nothing_keeps_the_function(method):
    name = 'resnet18-cifar'
    if method.startswith('astro'):
        model = tiny_astronet(name, **(STEM_MODULATED
                                       if method == 'astro_stem' else {}))
        result = export_pruned(model, threshold=0., coupled=True)
        backbone = model.architecture.backbone
    else:
        model, result = _prune(name, method, 1.0)
        backbone = model.backbone
    assert result.coupled
    assert result.params_after == result.params_before
    assert result.stage_widths == dict(stage_widths(result.model.backbone))
    assert result.stage_widths == {'layer1': 8, 'layer2': 16, 'layer3': 32,
                                   'layer4': 64}
    assert result.widths == inner_widths(result.model.backbone)
    assert not result.removed_channels
    inputs = torch.randn(2, 3, 32, 32)
    logits, feats = _outputs(model, backbone, inputs)
    pruned_logits, pruned_feats = _outputs(result.model,
                                           result.model.backbone, inputs)
    torch.testing.assert_close(pruned_logits, logits, rtol=0, atol=1e-5)
    for a, e in zip(pruned_feats, feats):
        torch.testing.assert_close(a, e, rtol=0, atol=1e-5)


@pytest.mark.parametrize('method', ALL_METHODS)
@pytest.mark.parametrize('name', NAMES)
def test_a_coupled_prune_removes_exactly_the_removed_channels(name, method):
    model, result = _prune(name, method, 0.6)
    full = stage_widths(model.architecture.backbone
                        if method.startswith('astro') else model.backbone)
    # stage channels went (not only inner ones), and the head followed
    assert any(result.stage_widths[s] < full[s] for s in full), \
        result.stage_widths
    last = list(result.stage_widths.values())[-1]
    assert result.model.head.fc.in_features == last
    backbone = _switch_off_removed(model, method, result)
    kept = resolve_family(backbone).kept_stage_channels(
        result.removed_channels)
    assert [int(k.numel()) for k in kept.values()] == \
        neck_widths(result.stage_widths)
    inputs = torch.randn(2, 3, 32, 32)
    logits, feats = _outputs(model, backbone, inputs)
    pruned_logits, pruned_feats = _outputs(result.model,
                                           result.model.backbone, inputs)
    torch.testing.assert_close(pruned_logits, logits, rtol=0, atol=1e-4)
    stages = list(kept.values())
    assert len(feats) == len(backbone.out_indices)
    for a, e, i in zip(pruned_feats, feats, backbone.out_indices):
        keep = stages[i]
        off = torch.ones(e.shape[1], dtype=torch.bool)
        off[keep] = False
        assert torch.equal(e[:, off], torch.zeros_like(e[:, off]))
        torch.testing.assert_close(a, e[:, keep], rtol=0, atol=1e-4)


@pytest.mark.parametrize('method', ALL_METHODS)
@pytest.mark.parametrize('name', NAMES)
def test_a_coupled_prune_meets_its_param_budget(name, method):
    model, result = _prune(name, method, 0.4)
    ratio = result.params_after / result.params_before
    assert 0.4 - 0.02 <= ratio <= 0.4, ratio
    backbone = result.model.backbone
    assert result.params_after == sum(p.numel()
                                      for p in backbone.parameters())
    assert result.widths == inner_widths(backbone)
    assert result.stage_widths == dict(stage_widths(backbone))


@pytest.mark.parametrize('method', ('astro', 'astro_stem', 'l1'))
def test_a_bottleneck_resnets_stem_is_a_group_of_its_own(method):
    """ResNet-50's stem feeds layer1.0's conv1 and shortcut only: its
    channels go as one group (stem conv, its norm, those two inputs) when
    something ranks them (a baseline, or a modulated stem), never when the
    stem has no P."""
    model, result = _prune('resnet50-cifar', method, 0.6)
    backbone = result.model.backbone
    full = stage_widths(model.architecture.backbone
                        if method.startswith('astro') else model.backbone)
    assert list(full)[0] == STEM and full[STEM] == 8
    width = result.stage_widths[STEM]
    assert backbone.conv1.out_channels == backbone.bn1.num_features == width
    first = backbone.layer1[0]
    assert first.conv1.in_channels == first.downsample[0].in_channels == width
    if method == 'astro':  # the stem has no P: nothing ranks its channels
        assert width == full[STEM]
        assert 'conv1' not in result.removed_channels
    else:
        assert width < full[STEM]
        removed = result.removed_channels['conv1']
        assert result.removed_channels['bn1'] == removed
        assert len(removed) == full[STEM] - width
    # ResNet-18's stem writes into layer1's stream: no group of its own
    _, result18 = _prune('resnet18-cifar', method, 0.6)
    assert STEM not in result18.stage_widths


def test_a_modulated_stem_joins_the_first_stages_astrocyte():
    algo = tiny_astronet('resnet50-cifar', **STEM_MODULATED)
    groups = {layer.name: layer.group for layer in algo.layers}
    assert groups['conv1'] == groups['layer1.0.conv1'] == 'layer1'


def test_coupled_needs_p_of_the_stage_writers_and_a_params_budget():
    algo = tiny_astronet('resnet18-cifar')
    with pytest.raises(ValueError, match='counts parameters only'):
        export_pruned(algo, budget=0.6, coupled=True, measure='flops',
                      input_shape=(3, 32, 32))
    # the budget-aware mode modulates inner units only: no P ranks the
    # stage channels
    budget_algo = budget_resnet20(budget=dict(target=0.6)).eval()
    budget_algo.set_round(1)
    with pytest.raises(ValueError, match='none of them is modulated'):
        export_pruned(budget_algo, budget=0.6, coupled=True)


@pytest.mark.parametrize('name', NAMES)
def test_the_rebuilt_backbone_takes_its_stage_widths_from_the_meta(
        name, tmp_path):
    model, result = _prune(name, 'group_norm', 0.6)
    state = result.model.state_dict()
    path = tmp_path / 'coupled.pth'
    torch.save(dict(state_dict=state,
                    meta=dict(pruned_widths=result.widths,
                              stage_widths=result.stage_widths,
                              coupled=True)), path)
    backbone = MODELS.build(dict(type='astro_mm.PrunedBackbone',
                                 base=TINY_RESNETS[name], widths=str(path)))
    backbone.load_state_dict(backbone_state(state), strict=True)
    assert_backbone_holds(backbone.state_dict(), state)
    assert dict(stage_widths(backbone)) == result.stage_widths
    # a width the backbone cannot have, named
    with pytest.raises(ValueError,
                       match="stage 'layer9'.*its stages: (stem, )?layer1"):
        MODELS.build(dict(type='astro_mm.PrunedBackbone',
                          base=TINY_RESNETS[name], widths=result.widths,
                          stage_widths={'layer9': 4}))


def test_prune_tool_coupled_writes_the_widths_and_a_loadable_config(
        tmp_path):
    from astro_mm.apis import load_config
    config = 'configs/resnet/resnet18_1xb64-3e_demo-cifar.py'
    cfg = Config.fromfile(f'{ROOT}/{config}')
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = tmp_path / 'plain.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=3)), ckpt)
    out = tmp_path / 'pruned.pth'
    prune_checkpoint(f'{ROOT}/{config}', str(ckpt), str(out), method='l1',
                     budget=0.6, coupled=True, recalibrate_batches=0,
                     latency_repeats=1, input_size=32)
    saved = torch.load(out, weights_only=True)
    meta = saved['meta']
    assert meta['coupled'] is True and meta['method'] == 'l1'
    full = dict(layer1=64, layer2=128, layer3=256, layer4=512)
    assert set(meta['stage_widths']) == set(full)
    assert any(meta['stage_widths'][s] < full[s] for s in full)
    # the fine-tune config it wrote builds the pruned classifier: stage
    # widths inline, the head reading the last one
    pruned_cfg = load_config(Namespace(
        config=str(out)[:-len('.pth')] + '.py', cfg_options=None,
        launcher='none', work_dir=str(tmp_path), local_rank=0))
    assert pruned_cfg.model.head.in_channels == meta['stage_widths']['layer4']
    with DefaultScope.overwrite_default_scope(pruned_cfg.default_scope):
        rebuilt = MODELS.build(pruned_cfg.model)
    rebuilt.load_state_dict(saved['state_dict'], strict=True)
    assert all(torch.equal(rebuilt.state_dict()[k], v)
               for k, v in saved['state_dict'].items())
    with pytest.raises(ValueError, match='--method none'):
        prune_checkpoint(f'{ROOT}/{config}', str(ckpt),
                         str(tmp_path / 'none.pth'), method='none',
                         coupled=True)
