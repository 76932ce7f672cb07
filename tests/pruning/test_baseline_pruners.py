"""Baseline pruners (Torch-Pruning): budget in parameters or FLOPs, the
two ranking rules, scope, function, rebuild, and tools/prune.py's flags."""
import copy
import json
import os

import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

import astro_mm  # noqa: F401
from astro_mm.apis import prune_checkpoint
from astro_mm.families import inner_widths, resolve_family, strategy_for
from astro_mm.pruning import (BASELINE_PRUNERS, baseline_scores,
                              prune_baseline)
from astro_mm.pruning.report import flops
from astro_mm.registry import MODELS
from conftest import ROOT, run_tool
from helpers import (BASELINE_METHODS, TINY_NUM_CLASSES,
                     TINY_RESNET_OUT_CHANNELS, TINY_RESNETS,
                     assert_backbone_holds, backbone_state,
                     switch_off_removed_inner_channels, tiny_batches,
                     tiny_classifier_config, tiny_plain_classifier)

# the fair study's network: ResNet-20 with a stride-2 stem on 28 px
# Fashion-MNIST, fine-grained enough (one inner channel is at most 0.7 % of
# its FLOPs) for every budget to be met within 0.01 in either measure
STUDY = dict(type='astro_mm.CIFARResNet', depth=20, in_channels=1,
             stem_stride=2)
STUDY_SIZE = 28
# the plain CIFAR ResNets of the tiny ones
BACKBONES = {name: TINY_RESNETS[name]
             for name in ('resnet18-cifar', 'resnet50-cifar')}


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.set_num_threads(1)
        yield


def _study_classifier(seed=0):
    """The study's ResNet-20 with non-trivial batch norms."""
    torch.manual_seed(seed)
    model = MODELS.build(dict(
        type='mmpretrain.ImageClassifier', backbone=STUDY,
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead',
                  num_classes=TINY_NUM_CLASSES, in_channels=64),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=TINY_NUM_CLASSES)))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
    return model.eval()


def _study_batches(count=2, size=2):
    generator = torch.Generator().manual_seed(1)
    return [dict(inputs=torch.rand(size, 1, STUDY_SIZE, STUDY_SIZE,
                                   generator=generator) * 255,
                 data_samples=[DataSample().set_gt_label(
                     k % TINY_NUM_CLASSES) for k in range(size)])
            for _ in range(count)]


def _study_prune(method, budget, **kwargs):
    model = _study_classifier()
    data = _study_batches() if method == 'taylor' else None
    return model, prune_baseline(model, method, budget, data=data,
                                 input_size=(STUDY_SIZE, STUDY_SIZE),
                                 **kwargs,
                                 plan=resolve_family(model.backbone, strict=True))


def _removed_share(full, result, stage):
    """Share of the inner channels of ``stage`` (``'layer1'``) removed."""
    before = sum(w for b, ws in full.items() if b.startswith(stage + '.')
                 for w in ws)
    after = sum(w for b, ws in result.widths.items()
                if b.startswith(stage + '.') for w in ws)
    return 1 - after / before


def _params(module):
    return sum(p.numel() for p in module.parameters())


def _inner_modules(backbone):
    """Names of the modules whose shapes inner pruning may change."""
    strategy = strategy_for(backbone)
    names = set()
    for block_name, block in strategy.blocks(backbone).items():
        for i, _ in enumerate(strategy.slots(block), start=1):
            names |= {f'{block_name}.conv{i}', f'{block_name}.conv{i + 1}',
                      f'{block_name}.{getattr(block, f"norm{i}_name")}'}
    return names


def _prune(name, method, budget, **kwargs):
    model = tiny_plain_classifier(name)
    data = tiny_batches() if method == 'taylor' else None
    return model, prune_baseline(model, method, budget, data=data, **kwargs,
                                 plan=resolve_family(model.backbone, strict=True))


def test_the_five_pruners_are_registered():
    # and the control of the studies, ``cost`` (tested below)
    assert set(BASELINE_PRUNERS) == set(BASELINE_METHODS) | {'cost'}
    assert [n for n, p in BASELINE_PRUNERS.items() if p.needs_data] == \
        ['taylor']


@pytest.mark.parametrize('budget', [0.6, 0.4])
@pytest.mark.parametrize('method', BASELINE_METHODS)
@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_budget_is_met_and_only_inner_channels_change(name, method, budget):
    model, result = _prune(name, method, budget)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    backbone = result.model.backbone
    ratio = result.params_after / result.params_before
    assert abs(ratio - budget) <= 0.01, (method, budget, ratio)
    assert ratio <= budget
    assert result.params_ratio == ratio
    assert (result.measure, result.rank, result.budget) == \
        ('params', 'group', budget)
    assert result.params_before == _params(model.backbone)
    assert result.params_after == _params(backbone)
    assert result.method == method and result.probs is None
    # inner channels only: stem, shortcuts, block outputs and head unchanged
    inner = _inner_modules(model.backbone)
    pruned = backbone.state_dict()
    changed = {key.rsplit('.', 1)[0] for key, value in
               model.backbone.state_dict().items()
               if pruned[key].shape != value.shape}
    assert changed and changed <= inner, changed - inner
    assert set(pruned) == set(model.backbone.state_dict())
    assert result.widths == inner_widths(backbone)
    full = inner_widths(model.backbone)
    assert all(1 <= w <= f for b in full for w, f in
               zip(result.widths[b], full[b]))
    with torch.no_grad():
        out = result.model(torch.randn(2, 3, 32, 32), mode='tensor')
        feats = backbone(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, TINY_NUM_CLASSES)
    assert feats[-1].shape[1] == TINY_RESNET_OUT_CHANNELS[name]
    # the input model is left as it was
    assert all(torch.equal(v, before[k])
               for k, v in model.state_dict().items())


@pytest.mark.parametrize('method', BASELINE_METHODS)
@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_pruned_network_is_the_original_with_removed_channels_off(
        name, method):
    model, result = _prune(name, method, 0.6)
    # switch the removed channels off in the original: their norm outputs
    # 0, the ReLU keeps 0, the next conv reads nothing from them
    switch_off_removed_inner_channels(model.backbone, result.kept)
    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(inputs, mode='tensor')
        actual = result.model(inputs, mode='tensor')
    assert (actual - expected).abs().max() <= 1e-4


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_rebuilt_from_widths_loads_the_pruned_checkpoint(name, tmp_path):
    _, result = _prune(name, 'group_norm', 0.6)
    state = result.model.state_dict()
    path = tmp_path / 'pruned.pth'
    torch.save(dict(state_dict=state, meta=dict(pruned_widths=result.widths)),
               path)
    # the backbone alone, widths read from the checkpoint's meta
    backbone = MODELS.build(dict(type='astro_mm.PrunedBackbone',
                                 base=BACKBONES[name], widths=str(path)))
    backbone.load_state_dict(backbone_state(state), strict=True)
    assert_backbone_holds(backbone.state_dict(), state)
    # the classifier, as the config written for a pruned checkpoint
    model = MODELS.build(tiny_classifier_config(name, dict(
        type='astro_mm.PrunedResNet', base=BACKBONES[name],
        widths=result.widths))).eval()
    model.load_state_dict(state, strict=True)
    assert all(torch.equal(model.state_dict()[k], v)
               for k, v in state.items())
    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(inputs, mode='tensor'),
                           result.model(inputs, mode='tensor'))


def _hand_made_l1_layer(conv):
    """Filters whose L1 order differs from their L2 order: a 'spread'
    filter (every entry a / n: L1 a, L2 a / sqrt(n)) or a 'spiky' one (one
    entry b: L1 = L2 = b). Returns the L1 and L2 norms."""
    l1 = [4.0, 0.5, 3.0, 1.0, 2.0, 1.5, 0.25, 2.5]
    spiky = [False, True, False, True, False, True, False, True]
    weight = torch.zeros_like(conv.weight)
    for j, (norm, is_spiky) in enumerate(zip(l1, spiky)):
        if is_spiky:
            weight[j].view(-1)[j] = norm
        else:
            weight[j] = norm / weight[j].numel()
    conv.weight.data.copy_(weight)
    return weight.flatten(1).abs().sum(1), weight.flatten(1).norm(dim=1)


def test_l1_keeps_exactly_the_highest_l1_filters():
    model = tiny_plain_classifier('resnet18-cifar')
    block = model.backbone.layer1[0]
    l1, l2 = _hand_made_l1_layer(block.conv1)
    # the next conv reads the low-L1 channels strongly: a group norm over
    # conv1, bn1 and conv2 would rank them differently
    block.conv2.weight.data.mul_(
        (1 / l1).view(1, -1, 1, 1) / (1 / l1).mean())
    original = block.conv1.weight.detach().clone()
    result = prune_baseline(model, 'l1', 0.6,
                            plan=resolve_family(model.backbone, strict=True))
    kept = result.kept['layer1.0'][0]
    width = kept.numel()
    assert 0 < width < l1.numel(), 'the hand-made layer must be pruned ' \
        f'partially to test anything; kept {width}'
    highest = l1.topk(width).indices.sort().values
    assert torch.equal(kept, highest)
    # the case tells L1 from L2
    assert not torch.equal(l2.topk(width).indices.sort().values, highest)
    pruned = result.model.backbone.layer1[0].conv1.weight
    assert torch.equal(pruned, original[kept])


def test_random_is_seeded():
    """The seed (tools/prune.py's --seed, a study's training seed) draws
    the channels: the same seed the same ones, another seed other widths
    and other channels."""

    def prune(seed):
        _, result = _prune('resnet18-cifar', 'random', 0.6, seed=seed)
        return result.widths, [k for kept in result.kept.values()
                               for k in kept]

    (widths, first), (widths_again, again) = prune(0), prune(0)
    other_widths, other = prune(1)
    assert widths == widths_again
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert other_widths != widths
    assert any(a.shape != b.shape or not torch.equal(a, b)
               for a, b in zip(first, other))


def test_min_keep_keeps_a_share_of_every_layer():
    _, result = _prune('resnet18-cifar', 'l1', 0.4, min_keep=0.25)
    full = inner_widths(tiny_plain_classifier('resnet18-cifar').backbone)
    assert all(w >= f * 0.25 for b in full
               for w, f in zip(result.widths[b], full[b]))


def test_baseline_refusals_name_the_problem():
    model = tiny_plain_classifier('resnet18-cifar')
    with pytest.raises(KeyError, match='group_norm'):
        prune_baseline(model, 'slimming', 0.6,
                       plan=resolve_family(model.backbone, strict=True))
    with pytest.raises(ValueError, match='taylor needs data'):
        prune_baseline(model, 'taylor', 0.6,
                       plan=resolve_family(model.backbone, strict=True))
    with pytest.raises(ValueError, match='out of reach'):
        prune_baseline(model, 'l1', 0.2, min_keep=0.5,
                       plan=resolve_family(model.backbone, strict=True))
    with pytest.raises(ValueError, match=r'budget must be in \(0, 1\]'):
        prune_baseline(model, 'l1', 1.5,
                       plan=resolve_family(model.backbone, strict=True))
    with pytest.raises(ValueError, match='measure must be one of'):
        prune_baseline(model, 'l1', 0.6, measure='latency',
                       plan=resolve_family(model.backbone, strict=True))
    with pytest.raises(ValueError, match='rank must be one of'):
        prune_baseline(model, 'l1', 0.6, rank='norm',
                       plan=resolve_family(model.backbone, strict=True))
    handle = model.backbone.layer1[0].bn1.register_forward_hook(
        lambda *args: None)
    with pytest.raises(ValueError, match='backbone.layer1.0.bn1'):
        prune_baseline(model, 'l1', 0.6,
                       plan=resolve_family(model.backbone, strict=True))
    handle.remove()
    densenet = MODELS.build(dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='astro_mm.DenseNet_CIFAR',
                      arch=dict(growth_rate=4, depths=[2, 2],
                                init_channels=8)),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=3,
                  in_channels=16)))
    with pytest.raises(ValueError, match='ResNet backbones only'):
        prune_baseline(densenet, 'l1', 0.6,
                       plan=resolve_family(densenet.backbone, strict=True))


@pytest.mark.parametrize('measure', ['params', 'flops'])
def test_cost_control_removes_the_costliest_channels_first(measure):
    """``cost``: astro_mm's export rule with one score for every channel.
    A layer keeps a channel only when every costlier layer (in the
    budget's measure) is down to its last one or no cheaper channel was
    removed."""
    from astro_mm.pruning.baselines import _prepare, unit_cost
    from astro_mm.pruning.coupled import cost_count
    model, result = _study_prune('cost', 0.6, measure=measure)
    assert result.rank == 'cost' and result.measure == measure
    ratio = dict(params=result.params_ratio, flops=result.flops_ratio)
    assert 0.59 <= ratio[measure] <= 0.6
    work = copy.deepcopy(model).eval()
    size = (STUDY_SIZE, STUDY_SIZE)
    _, groups, _ = _prepare(work, resolve_family(work.backbone), 'cost',
                            None, 1, 0, size)
    full = [g.width for g in groups]
    count = cost_count(work.backbone, groups, measure, size)
    cost = {g.name: unit_cost(count, full, i) for i, g in enumerate(groups)}
    widths = dict(zip([g.name for g in groups],
                      [w for widths in result.widths.values()
                       for w in widths]))
    removed = {n: g.width - widths[n] for n, g in zip(widths, groups)}
    assert sum(removed.values()) > 0 and min(removed.values()) == 0
    for cheap in widths:
        for costly in widths:
            if cost[costly] > cost[cheap] and removed[cheap]:
                assert widths[costly] == 1, (costly, cheap)
    # the scores it ranks by: 1 / the cost
    scores = baseline_scores(model, 'cost', input_size=size,
                             measure=measure,
                             plan=resolve_family(model.backbone, strict=True))
    assert all(torch.allclose(scores[n], torch.full_like(scores[n],
                                                         1 / cost[n]))
               for n in cost)
    with pytest.raises(ValueError, match='no coupled mode'):
        prune_baseline(model, 'cost', 0.6, coupled=True,
                       plan=resolve_family(model.backbone, strict=True))


def test_cost_control_refuses_the_group_rule():
    model = tiny_plain_classifier('resnet18-cifar')
    with pytest.raises(ValueError, match=r"cost: rank='group' ranks nothing: "
                       r'its score is the same constant for every channel'):
        prune_baseline(model, 'cost', 0.6, rank='group',
                       plan=resolve_family(model.backbone, strict=True))


@pytest.mark.parametrize('measure', ['params', 'flops'])
@pytest.mark.parametrize('method', BASELINE_METHODS + ('cost', ))
def test_every_pruner_meets_its_budget_in_its_measure(method, measure):
    """Within 0.01 under the budget, in the measure asked for, counted as
    the prune report counts it (parameters; multiply-adds of the convs and
    linears for one image, report.flops); both ratios are recorded."""
    budget = 0.6
    model, result = _study_prune(method, budget, measure=measure)
    before, after = model.backbone, result.model.backbone
    params_ratio = _params(after) / _params(before)
    flops_ratio = flops(after, STUDY_SIZE, 1) / flops(before, STUDY_SIZE, 1)
    assert result.params_ratio == pytest.approx(params_ratio, abs=1e-12)
    assert result.flops_ratio == pytest.approx(flops_ratio, abs=1e-12)
    assert result.flops_before == flops(before, STUDY_SIZE, 1)
    reached = dict(params=params_ratio, flops=flops_ratio)[measure]
    assert budget - 0.01 <= reached <= budget, (method, measure, reached)
    assert result.measure == measure and result.budget == budget
    assert result.rank == ('cost' if method == 'cost' else 'group')


def test_a_flops_budget_is_met_with_coupled_stage_channels():
    model, result = _study_prune('l1', 0.5, measure='flops', coupled=True)
    flops_ratio = flops(result.model.backbone, STUDY_SIZE, 1) / flops(
        model.backbone, STUDY_SIZE, 1)
    assert 0.49 <= flops_ratio <= 0.5
    assert result.flops_ratio == pytest.approx(flops_ratio, abs=1e-12)
    assert any(w < 64 for w in result.stage_widths.values())


def test_the_two_ranking_rules_allocate_differently():
    """Normalized per group, l1 cuts every stage by about the same share;
    per unit of cost it cuts first where a channel costs most: in
    parameters the wide low-resolution layer3 (a channel there holds 4x a
    layer1 channel's weights), in FLOPs the high-resolution layer1 (its
    channel runs at 14 x 14 positions against layer3's 4 x 4: 3x layer3's
    multiply-adds)."""
    full = inner_widths(_study_classifier().backbone)
    share = {}
    for measure in ('params', 'flops'):
        for rank in ('group', 'cost'):
            _, result = _study_prune('l1', 0.6, measure=measure, rank=rank)
            assert result.rank == rank
            share[measure, rank] = {
                stage: _removed_share(full, result, stage)
                for stage in ('layer1', 'layer2', 'layer3')}
    for measure in ('params', 'flops'):
        group = share[measure, 'group']
        # the group rule: every stage within 0.15 of the same share
        assert max(group.values()) - min(group.values()) <= 0.15, group
    params_cost, flops_cost = share['params', 'cost'], share['flops', 'cost']
    # per parameter: layer3 gives more than by group, and layer1 (a
    # quarter of layer3's cost per channel) is spared
    assert params_cost['layer3'] >= share['params', 'group']['layer3'] + 0.05
    assert params_cost['layer1'] <= share['params', 'group']['layer1'] - 0.3
    # per FLOP: the high-resolution layer1 goes first, layer3 is spared
    assert flops_cost['layer1'] >= share['flops', 'group']['layer1'] + 0.3
    assert flops_cost['layer3'] <= share['flops', 'group']['layer3'] - 0.3
    assert flops_cost['layer1'] > flops_cost['layer2'] > flops_cost['layer3']


@pytest.fixture(scope='module')
def plain_checkpoint(tmp_path_factory):
    """The study's plain config and a checkpoint of its (untrained)
    network."""
    from mmengine.config import Config
    config = os.path.join(
        ROOT, 'configs/resnet/resnet20-cifar-s2_1xb128-amp-5e_'
        'fashion-mnist.py')
    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
    path = tmp_path_factory.mktemp('plain') / 'plain.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    return config, str(path)


def test_prune_tool_takes_the_measure_and_the_rule(plain_checkpoint,
                                                   tmp_path):
    config, checkpoint = plain_checkpoint
    common = dict(method='l1', recalibrate_batches=0, latency_repeats=1,
                  input_size=28)
    report = prune_checkpoint(config, checkpoint, str(tmp_path / 'l1.pth'),
                              budget=0.6, measure='flops', rank='cost',
                              **common)
    written = json.loads((tmp_path / 'l1.json').read_text())
    assert (written['budget'], written['measure'], written['rank']) == \
        (0.6, 'flops', 'cost')
    assert 0.59 <= report['flops_ratio'] <= 0.6
    # --param-budget is --budget's former name; the default rule is l1's
    run_tool('tools/prune.py', config, checkpoint, '--method', 'l1',
             '--recalibrate-batches', '0', '--latency-repeats', '1',
             '--input-size', '28', '--param-budget', '0.6', '--out',
             str(tmp_path / 'alias.pth'))
    alias = json.loads((tmp_path / 'alias.json').read_text())
    assert (alias['budget'], alias['measure'], alias['rank']) == \
        (0.6, 'params', 'group')
    assert 0.59 <= alias['params_ratio'] <= 0.6
    with pytest.raises(ValueError, match='--rank is for the baseline '
                       'pruners.*--method none ranks nothing'):
        prune_checkpoint(config, checkpoint, str(tmp_path / 'none.pth'),
                         method='none', rank='cost')
    astro = os.path.join(
        ROOT, 'configs/manet/manet_resnet18-cifar_1xb64-3e_demo-cifar.py')
    with pytest.raises(ValueError, match='--method astro ranks P per unit '
                       'of cost'):
        prune_checkpoint(astro, checkpoint, str(tmp_path / 'astro.pth'),
                         budget=0.6, rank='group')
