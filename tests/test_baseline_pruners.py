"""Baseline pruners (Torch-Pruning): budget, scope, function, rebuild."""
import copy

import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

import astro_mm  # noqa: F401
from astro_mm.models.pruning import (BASELINE_PRUNERS, inner_widths,
                                     prune_baseline, strategy_for)
from astro_mm.registry import MODELS

METHODS = ('random', 'l1', 'bn_scale', 'taylor', 'group_norm')
BACKBONES = {
    'resnet18-cifar': dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                           stem_channels=8, base_channels=8),
    'resnet50-cifar': dict(type='mmpretrain.ResNet_CIFAR', depth=50,
                           stem_channels=8, base_channels=8),
}
OUT_CHANNELS = {'resnet18-cifar': 64, 'resnet50-cifar': 256}
NUM_CLASSES = 3


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.set_num_threads(1)
        yield


def _config(name, backbone=None):
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=backbone or BACKBONES[name],
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=NUM_CLASSES,
                  in_channels=OUT_CHANNELS[name]),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=NUM_CLASSES))


def _classifier(name, seed=0):
    """A plain classifier with non-trivial batch norms, as after training."""
    torch.manual_seed(seed)
    model = MODELS.build(_config(name))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def _batches(count=2, size=2):
    generator = torch.Generator().manual_seed(1)
    return [dict(inputs=torch.rand(size, 3, 32, 32, generator=generator) *
                 255,
                 data_samples=[DataSample().set_gt_label(k % NUM_CLASSES)
                               for k in range(size)])
            for _ in range(count)]


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
    model = _classifier(name)
    data = _batches() if method == 'taylor' else None
    return model, prune_baseline(model, method, budget, data=data, **kwargs)


def test_the_five_pruners_are_registered():
    # and the control of the studies, ``cost`` (tested below)
    assert set(BASELINE_PRUNERS) == set(METHODS) | {'cost'}
    assert [n for n, p in BASELINE_PRUNERS.items() if p.needs_data] == \
        ['taylor']


@pytest.mark.parametrize('budget', [0.6, 0.4])
@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_budget_is_met_and_only_inner_channels_change(name, method, budget):
    model, result = _prune(name, method, budget)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    backbone = result.model.backbone
    ratio = result.params_after / result.params_before
    assert abs(ratio - budget) <= 0.02, (method, budget, ratio)
    assert ratio <= budget
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
    assert out.shape == (2, NUM_CLASSES)
    assert feats[-1].shape[1] == OUT_CHANNELS[name]
    # the input model is left as it was
    assert all(torch.equal(v, before[k])
               for k, v in model.state_dict().items())


def _switch_off_removed_inner_channels(backbone, kept_per_block):
    """Zero the norm affine of every inner channel a prune removed, so the
    unpruned network computes what the pruned one does (entries that name
    no block, the coupled stages, are left to the caller)."""
    blocks = strategy_for(backbone).blocks(backbone)
    for block_name, kept in kept_per_block.items():
        if block_name not in blocks:
            continue
        block = blocks[block_name]
        for i, keep in enumerate(kept, start=1):
            norm = getattr(block, getattr(block, f'norm{i}_name'))
            off = torch.ones(norm.num_features, dtype=torch.bool)
            off[keep] = False
            norm.weight.data[off] = 0
            norm.bias.data[off] = 0


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_pruned_network_is_the_original_with_removed_channels_off(
        name, method):
    model, result = _prune(name, method, 0.6)
    # switch the removed channels off in the original: their norm outputs
    # 0, the ReLU keeps 0, the next conv reads nothing from them
    _switch_off_removed_inner_channels(model.backbone, result.kept)
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
    own = {k[len('backbone.'):]: v for k, v in state.items()
           if k.startswith('backbone.')}
    backbone.load_state_dict(own, strict=True)
    rebuilt = backbone.state_dict()
    assert set(rebuilt) == set(own)
    assert all(torch.equal(rebuilt[k], own[k]) for k in own)
    # the classifier, as the config written for a pruned checkpoint
    model = MODELS.build(_config(name, dict(
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
    model = _classifier('resnet18-cifar')
    block = model.backbone.layer1[0]
    l1, l2 = _hand_made_l1_layer(block.conv1)
    # the next conv reads the low-L1 channels strongly: a group norm over
    # conv1, bn1 and conv2 would rank them differently
    block.conv2.weight.data.mul_(
        (1 / l1).view(1, -1, 1, 1) / (1 / l1).mean())
    original = block.conv1.weight.detach().clone()
    result = prune_baseline(model, 'l1', 0.6)
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

    def masks(seed):
        _, result = _prune('resnet18-cifar', 'random', 0.6, seed=seed)
        return [k for kept in result.kept.values() for k in kept]

    first, again, other = masks(0), masks(0), masks(1)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert any(a.shape != b.shape or not torch.equal(a, b)
               for a, b in zip(first, other))


def test_min_keep_keeps_a_share_of_every_layer():
    _, result = _prune('resnet18-cifar', 'l1', 0.4, min_keep=0.25)
    full = inner_widths(_classifier('resnet18-cifar').backbone)
    assert all(w >= f * 0.25 for b in full
               for w, f in zip(result.widths[b], full[b]))


def test_refusals_name_the_problem():
    model = _classifier('resnet18-cifar')
    with pytest.raises(KeyError, match='group_norm'):
        prune_baseline(model, 'slimming', 0.6)
    with pytest.raises(ValueError, match='taylor needs data'):
        prune_baseline(model, 'taylor', 0.6)
    with pytest.raises(ValueError, match='out of reach'):
        prune_baseline(model, 'l1', 0.2, min_keep=0.5)
    with pytest.raises(ValueError, match=r'param_budget must be in \(0, 1\]'):
        prune_baseline(model, 'l1', 1.5)
    handle = model.backbone.layer1[0].bn1.register_forward_hook(
        lambda *args: None)
    with pytest.raises(ValueError, match='backbone.layer1.0.bn1'):
        prune_baseline(model, 'l1', 0.6)
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
        prune_baseline(densenet, 'l1', 0.6)


def test_cost_control_removes_the_costliest_channels_first():
    """``cost``: astro_mm's export rule with one score for every channel.
    A layer keeps a channel only when every costlier layer is down to its
    last one or no cheaper channel was removed."""
    from astro_mm.models.pruning.baselines import (_per_parameter,
                                                   _prepare)
    from astro_mm.models.pruning.coupled import ParamCount
    model, result = _prune('resnet18-cifar', 'cost', 0.6)
    assert 0.58 <= result.params_after / result.params_before <= 0.6
    work = copy.deepcopy(model).eval()
    _, groups, scores = _prepare(work, 'cost', None, 1, 0, (32, 32))
    full = [g.width for g in groups]
    per_param = _per_parameter(scores, groups,
                               ParamCount(work.backbone, groups), full)
    unit_cost = {g.name: 1 / float(per_param[g.name][0]) for g in groups}
    widths = dict(zip([g.name for g in groups],
                      [w for widths in result.widths.values()
                       for w in widths]))
    removed = {n: g.width - widths[n] for n, g in
               zip(widths, groups)}
    assert sum(removed.values()) > 0 and min(removed.values()) == 0
    for cheap in widths:
        for costly in widths:
            if unit_cost[costly] > unit_cost[cheap] and removed[cheap]:
                assert widths[costly] == 1, (costly, cheap)
    with pytest.raises(ValueError, match='no coupled mode'):
        prune_baseline(model, 'cost', 0.6, coupled=True)
