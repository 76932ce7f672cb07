"""Backbone families (astro_mm.families): a family is all a new backbone
needs. A toy family declared in this file alone is modulated, grouped,
pruned through the export (by threshold, by budget, coupled) and by a
standard pruner, and rebuilt from its widths, without touching astro_mm's
code."""
import pytest
import torch
from mmengine.model import BaseModule
from mmengine.registry import DefaultScope
from torch import nn

import astro_mm  # noqa: F401
from astro_mm.analysis.gradcam import default_target_layer
from astro_mm.families import (BackboneFamily, find_family, resolve_family,
                               strategy_for)
from astro_mm.models.modulated.unit_rules import UnitRules
from astro_mm.pruning import export_pruned, prune_baseline, silence_channels
from astro_mm.pruning.coupled import (build_graph, example_inputs,
                                      prune_groups, root_group)
from astro_mm.pruning.slicing import prune_conv, prune_norm
from astro_mm.pruning.strategies import PruningStrategy, layer_cost_terms
from astro_mm.registry import FAMILIES, MODELS
from helpers import assert_rebuilds_from_widths

DELTA = 0.3


class ToyBlock(nn.Module):
    """expand (3x3) -> norm -> relu -> project (1x1) -> norm -> relu; the
    expanded channels are inner: removing one leaves the output width."""

    def __init__(self, in_channels, hidden, out_channels):
        super().__init__()
        self.expand = nn.Conv2d(in_channels, hidden, 3, padding=1,
                                bias=False)
        self.expand_norm = nn.BatchNorm2d(hidden)
        self.project = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self.project_norm = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        x = torch.relu(self.expand_norm(self.expand(x)))
        return torch.relu(self.project_norm(self.project(x)))


class ToyTwoStageNet(BaseModule):
    """A stem and two "stages" of toy blocks, under ``body``: the default
    stage pattern would put every layer in one group, ``body``."""

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(8), nn.ReLU())
        self.body = nn.Module()
        self.body.first = nn.Sequential(ToyBlock(8, 16, 8),
                                        ToyBlock(8, 16, 8))
        self.body.second = nn.Sequential(ToyBlock(8, 24, 12))

    def forward(self, x):
        x = self.body.second(self.body.first(self.stem(x)))
        return (x, )


class ToyPruning(PruningStrategy):
    """The expanded channels of every toy block: one slot, ``expand``."""
    family = 'toy blocks'

    def blocks(self, backbone):
        return {name: module for name, module in backbone.named_modules()
                if isinstance(module, ToyBlock)}

    def slots(self, block):
        return ['expand']

    def widths(self, block):
        return [block.expand.out_channels]

    def prune(self, block, keep):
        kept, = keep
        prune_conv(block.expand, out_keep=kept)
        prune_norm(block.expand_norm, kept)
        prune_conv(block.project, in_keep=kept)

    def cost_terms(self, block):
        return (layer_cost_terms('expand', block.expand, out_slot=0) +
                layer_cost_terms('expand_norm', block.expand_norm,
                                 out_slot=0) +
                layer_cost_terms('project', block.project, in_slot=0))


class ToyFamily(BackboneFamily):
    """The whole of what astro_mm needs to know about toy nets. Its
    coupled groups: the outputs of each stage's last ``project`` (its conv
    and norm), read by the next stage's first ``expand`` or the head."""
    name = 'toy two-stage nets'
    priority = 5
    unit_rules = {'ToyTwoStageNet': UnitRules(include=(r'\.expand$', ))}
    strategy = ToyPruning()
    supports_coupled = True

    def stage_of(self, layer_name):
        return '.'.join(layer_name.split('.')[:2])  # body.first / second

    def gradcam_layer(self, backbone):
        return 'body.second'

    def _last_blocks(self, backbone):
        return {stage: backbone.get_submodule(blocks[-1])
                for stage, blocks in self.stages(
                    backbone, list(self.blocks(backbone))).items()}

    def channel_groups(self, backbone, graph, coupled=False):
        names = {id(m): n for n, m in backbone.named_modules()}
        groups = [root_group(graph, block.expand, f'{name}.expand', 'inner',
                             names, name)
                  for name, block in self.blocks(backbone).items()]
        if coupled:
            groups += [root_group(graph, block.project, stage, 'stage', names)
                       for stage, block in self._last_blocks(backbone).items()]
        return groups

    def stage_widths(self, backbone):
        return {stage: block.project.out_channels
                for stage, block in self._last_blocks(backbone).items()}

    def shrink_stages(self, backbone, widths):
        graph = build_graph(backbone, example_inputs(backbone))
        groups = [g for g in self.channel_groups(backbone, graph, True)
                  if g.kind == 'stage' and g.name in widths]
        prune_groups(graph, groups,
                     [torch.arange(widths[g.name]) for g in groups])


@pytest.fixture
def toy_family():
    """ToyFamily and ToyTwoStageNet registered for one test only."""
    FAMILIES.register_module(module=ToyFamily)
    MODELS.register_module(module=ToyTwoStageNet)
    try:
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            torch.set_num_threads(1)
            yield
    finally:
        FAMILIES._module_dict.pop('ToyFamily')
        MODELS._module_dict.pop('ToyTwoStageNet')


TOY_CLASSIFIER = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(type='astro_mm.ToyTwoStageNet'),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(type='mmpretrain.LinearClsHead', num_classes=3, in_channels=12),
    data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                           num_classes=3))


def _as_trained(model):
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):  # as after training
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model


def _toy_algorithm(**kwargs):
    torch.manual_seed(0)
    algo = MODELS.build(dict(
        type='astro_mm.AlternatingAlgorithm',
        architecture=TOY_CLASSIFIER,
        modulator=dict(type='astro_mm.AstroNetModulator', width=4),
        warmup_rounds=0, **kwargs))
    _as_trained(algo.architecture)
    algo.set_round(1)  # a W-round: P cached
    algo.cached_probs.copy_(torch.rand(algo.cached_probs.shape))
    return algo.eval()


def test_toy_family_declares_units_stages_and_gradcam_layer(toy_family):
    algo = _toy_algorithm()
    backbone = algo.architecture.backbone
    plan = resolve_family(backbone, strict=True)
    assert isinstance(plan.family, ToyFamily)
    assert isinstance(strategy_for(backbone), ToyPruning)
    # the family's rule: only the expand convs, P after their own norm
    assert [layer.name for layer in algo.layers] == [
        'body.first.0.expand', 'body.first.1.expand', 'body.second.0.expand']
    assert all(isinstance(layer.scale_module, nn.BatchNorm2d)
               for layer in algo.layers)
    assert [layer.group for layer in algo.layers] == [
        'body.first', 'body.first', 'body.second']
    assert plan.prunable_layer_names() == [layer.name for layer in algo.layers]
    assert plan.stages == {'body.first': ['body.first.0', 'body.first.1'],
                           'body.second': ['body.second.0']}
    assert default_target_layer(algo) == 'backbone.body.second'
    with pytest.raises(ValueError, match='toy two-stage nets'):
        resolve_family(algo.architecture.neck, strict=True)


def test_toy_family_prunes_through_export_and_rebuilds(toy_family):
    algo = _toy_algorithm()
    inputs = torch.randn(2, 3, 16, 16)
    result = export_pruned(algo, threshold=DELTA)
    # every modulated layer is a slot: the realized P is P thresholded
    probs = algo._rows(algo.cached_probs.clone())
    for realized, p in zip(result.probs, probs):
        assert torch.equal(realized, p * (p >= DELTA))
    assert result.widths == {
        name: [int((p >= DELTA).sum())]
        for name, p in zip(['body.first.0', 'body.first.1', 'body.second.0'],
                           probs)}
    assert result.params_after < result.params_before
    # an inner prune leaves the stage widths as they were
    assert result.stage_widths == {'body.first': 8, 'body.second': 12}
    algo.cached_probs.copy_(algo._flat(result.probs))
    with torch.no_grad():
        expected = algo(inputs, mode='tensor')
        pruned = result.model(inputs, mode='tensor')
    torch.testing.assert_close(pruned, expected, rtol=1e-4, atol=1e-5)

    # rebuilt from its widths by astro_mm.PrunedBackbone, as a detector
    # config would, and loaded strictly from the pruned weights
    assert_rebuilds_from_widths(result, dict(type='astro_mm.ToyTwoStageNet'),
                                inputs)


def test_toy_family_meets_a_parameter_budget(toy_family):
    algo = _toy_algorithm()
    result = export_pruned(algo, budget=0.8)
    ratio = result.params_after / result.params_before
    assert ratio <= 0.8 + 1e-9 and ratio > 0.7


def test_unknown_backbone_names_the_registered_families():
    with pytest.raises(ValueError) as error:
        strategy_for(nn.Sequential(nn.Linear(2, 2)))
    for name in ('ResNet residual blocks', 'DenseNet dense layers',
                 'transformer FFN / attention heads'):
        assert name in str(error.value)
    # a backbone of no family is still modulated by the defaults
    assert find_family(nn.Sequential(nn.Linear(2, 2))) is None


def test_toy_family_prunes_its_coupled_groups(toy_family):
    """Coupled export: each stage's output channels go from its writers
    (the last project conv and norm) and its readers (the next expand, the
    head) at once; the pruned network computes what the algorithm does
    under the realized P with the removed writers switched off, and
    rebuilds from its inner and stage widths."""
    algo = _toy_algorithm(modulated_layers=dict(
        include=[r'\.expand$', r'\.project$']))
    result = export_pruned(algo, budget=0.7, coupled=True)
    full = {'body.first': 8, 'body.second': 12}
    assert set(result.stage_widths) == set(full)
    assert any(result.stage_widths[s] < full[s] for s in full)
    assert result.model.head.fc.in_features == \
        result.stage_widths['body.second']
    assert result.model.backbone.body.second[0].expand.in_channels == \
        result.stage_widths['body.first']
    assert result.params_after / result.params_before <= 0.7 + 1e-9
    inputs = torch.randn(2, 3, 16, 16)
    algo.cached_probs.copy_(algo._flat(result.probs))
    silence_channels(algo.architecture.backbone, result.removed_channels)
    with torch.no_grad():
        expected = algo(inputs, mode='tensor')
        pruned = result.model(inputs, mode='tensor')
    torch.testing.assert_close(pruned, expected, rtol=1e-4, atol=1e-5)
    rebuilt = MODELS.build(dict(type='astro_mm.PrunedBackbone',
                                base=dict(type='astro_mm.ToyTwoStageNet'),
                                widths=result.widths,
                                stage_widths=result.stage_widths))
    rebuilt.load_state_dict(result.model.backbone.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval()(inputs)[0],
                                   result.model.backbone(inputs)[0])


@pytest.mark.parametrize('coupled', [False, True])
def test_a_standard_pruner_prunes_the_toy_family(toy_family, coupled):
    """L1 through Torch-Pruning on the toy family's channel groups: the
    budget is met, the kept filters are the highest-L1 ones, and the
    pruned network rebuilds from its widths."""
    torch.manual_seed(0)
    model = _as_trained(MODELS.build(TOY_CLASSIFIER)).eval()
    result = prune_baseline(model, 'l1', 0.7, input_size=(16, 16),
                            coupled=coupled,
                            plan=resolve_family(model.backbone, strict=True))
    assert 0.69 <= result.params_ratio <= 0.7
    expand = model.backbone.body.first[0].expand.weight.detach()
    kept = result.kept['body.first.0'][0]
    l1 = expand.abs().flatten(1).sum(1)
    dropped = sorted(set(range(16)) - set(kept.tolist()))
    if dropped:
        assert l1[kept].min() >= l1[dropped].max()
    torch.testing.assert_close(
        result.model.backbone.body.first[0].expand.weight,
        expand[kept])
    assert (result.stage_widths != ToyFamily().stage_widths(model.backbone)
            ) == coupled
    rebuilt = MODELS.build(dict(type='astro_mm.PrunedBackbone',
                                base=dict(type='astro_mm.ToyTwoStageNet'),
                                widths=result.widths,
                                stage_widths=result.stage_widths))
    rebuilt.load_state_dict(result.model.backbone.state_dict())
