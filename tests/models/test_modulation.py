"""Unit tests of the modulation mechanism, the modulators and Algorithm 1.

Everything runs in-process on tiny inputs: a ResNet-18 CIFAR variant with 8
base channels on four 16x16 images, or small hand-written modules.
"""
import copy
import re
from types import SimpleNamespace

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from torch import nn

import astro_mm  # noqa: F401  (registers the components)
from astro_mm.engine import AlternationHook
from astro_mm.families import DEFAULT_EXCLUDE, resolve_family
from astro_mm.models import (AlternatingAlgorithm, AstroNetModulator,
                             MANetModulator)
from astro_mm.models.algorithms.alternating import assign_groups
from astro_mm.models.modulated import (ModulatedLayer, UnitScaler,
                                       find_modulated_layers,
                                       weight_descriptors)
from astro_mm.registry import MODELS

NUM_CLASSES = 4
TINY_ARCH = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=8,
                  base_channels=8),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(type='mmpretrain.LinearClsHead', num_classes=NUM_CLASSES,
              in_channels=64),
    data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                           num_classes=NUM_CLASSES))
# small MNets, so the tests stay fast
TINY_MANET = dict(type='astro_mm.MANetModulator', num_astrocytes=4,
                  token_dim=16, num_lstm=2, squeeze_len=8, vit_depth=1,
                  vit_heads=2)
TINY_ASTRONET = dict(type='astro_mm.AstroNetModulator', width=4, num_iters=2)
OPTIM = dict(constructor='astro_mm.AlternatingOptimWrapperConstructor',
             tnet=dict(optimizer=dict(type='SGD', lr=0.1)),
             mnet=dict(optimizer=dict(type='SGD', lr=0.1)))
# the full ResNet-18 CIFAR: its 19 modulated layers (3 convs per stage but
# the first, a downsample conv in stages 2-4)
R18_UNITS = [64] * 4 + [128] * 5 + [256] * 5 + [512] * 5


def _batch(n=4, size=16, seed=0):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    return dict(
        inputs=[torch.randint(0, 255, (3, size, size), dtype=torch.uint8,
                              generator=g) for _ in range(n)],
        data_samples=[DataSample().set_gt_label(i % NUM_CLASSES)
                      for i in range(n)])


def _algorithm(modulator, warmup_rounds=1, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(dict(type='astro_mm.AlternatingAlgorithm',
                             architecture=TINY_ARCH, modulator=modulator,
                             warmup_rounds=warmup_rounds))


def _tiny_backbone(seed=0, train=True):
    from mmpretrain.models import ResNet_CIFAR
    torch.manual_seed(seed)
    backbone = ResNet_CIFAR(depth=18, stem_channels=8, base_channels=8)
    backbone.train(train)  # mmpretrain's ResNet.train() returns None
    return backbone


def _snapshot(params):
    return {n: p.detach().clone() for n, p in params}


def _changed(before, params):
    return {n for n, p in params if not torch.equal(before[n], p)}


@pytest.fixture(scope='module', autouse=True)
def mmpretrain_scope():
    # scoped to this module: a process-wide default scope would leak into
    # the tests that run after it
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """Tiny tensors: one thread avoids oversubscription on shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def r18_layers():
    from mmpretrain.models import ResNet_CIFAR
    backbone = ResNet_CIFAR(depth=18)
    return backbone, find_modulated_layers(resolve_family(backbone))


# --------------------------------------------------------- 1. layer finder
def test_find_modulated_layers_resnet18_cifar(r18_layers):
    backbone, layers = r18_layers
    names = [layer.name for layer in layers]
    assert 'conv1' not in names  # the stem
    assert len(layers) == 19
    for stage in range(1, 5):
        for block in range(2):
            for conv in (1, 2):
                assert f'layer{stage}.{block}.conv{conv}' in names
    for stage in range(2, 5):
        assert f'layer{stage}.0.downsample.0' in names
    assert 'layer1.0.downsample.0' not in names
    by_name = {layer.name: layer for layer in layers}
    modules = dict(backbone.named_modules())
    # every conv is paired with the BN registered right after it
    for layer in layers:
        if 'downsample' in layer.name:
            norm = layer.name[:-1] + '1'
        else:
            norm = layer.name.replace('conv', 'bn')
        assert layer.scale_module is modules[norm], layer.name
        assert isinstance(layer.scale_module, nn.BatchNorm2d)
        assert layer.weight_module is modules[layer.name]
        assert layer.num_units == modules[layer.name].out_channels
        assert layer.group == layer.name.split('.')[0]
    assert by_name['layer1.0.conv1'].scale_module is backbone.layer1[0].bn1
    assert by_name['layer3.0.downsample.0'].scale_module is \
        backbone.layer3[0].downsample[1]
    assert [layer.num_units for layer in layers] == R18_UNITS
    assert list(dict.fromkeys(layer.group for layer in layers)) == [
        'layer1', 'layer2', 'layer3', 'layer4']


def test_find_modulated_layers_include_exclude(r18_layers):
    backbone, _ = r18_layers
    only1 = find_modulated_layers(resolve_family(backbone),
                                  include=[r'^layer1\.'])
    assert [layer.name for layer in only1] == [
        'layer1.0.conv1', 'layer1.0.conv2', 'layer1.1.conv1', 'layer1.1.conv2']
    no_ds = find_modulated_layers(
        resolve_family(backbone), exclude=(*DEFAULT_EXCLUDE, r'downsample'))
    assert len(no_ds) == 16
    assert not any('downsample' in layer.name for layer in no_ds)
    with_stem = find_modulated_layers(resolve_family(backbone), exclude=())
    assert with_stem[0].name == 'conv1'
    assert with_stem[0].scale_module is backbone.bn1
    assert len(with_stem) == 20
    with pytest.raises(ValueError, match='ResNet_CIFAR'):
        find_modulated_layers(resolve_family(backbone),
                              include=[r'^no_such_module$'])


def test_find_modulated_layers_without_conv_or_linear_raises():

    class OnlyActivations(nn.Module):

        def __init__(self):
            super().__init__()
            self.act = nn.ReLU()
            self.pool = nn.AdaptiveAvgPool2d(1)

    with pytest.raises(ValueError, match='OnlyActivations'):
        find_modulated_layers(resolve_family(OnlyActivations()))


# --------------------------------------------------------- 2. UnitScaler
def test_unit_scaler_none_and_ones_are_the_plain_network():
    backbone = _tiny_backbone(train=False)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        plain = backbone(x)[-1]
        scaler = UnitScaler(find_modulated_layers(resolve_family(backbone)))
        assert scaler.probs is None
        assert torch.equal(backbone(x)[-1], plain)
        scaler.probs = [torch.ones(layer.num_units) for layer in scaler.layers]
        assert torch.equal(backbone(x)[-1], plain)
        scaler.probs = [torch.full((layer.num_units, ), 0.5)
                        for layer in scaler.layers]
        assert not torch.allclose(backbone(x)[-1], plain)
        scaler.remove()  # hooks gone: probs are ignored
        assert torch.equal(backbone(x)[-1], plain)


@pytest.mark.parametrize('train_mode', [True, False])
@pytest.mark.parametrize('layer_name', [
    'layer2.0.conv1', 'layer2.0.conv2', 'layer3.0.downsample.0'])
def test_unit_scaler_zero_removes_the_unit_exactly(train_mode, layer_name):
    backbone = _tiny_backbone(train=train_mode)
    layers = find_modulated_layers(resolve_family(backbone))
    index = [layer.name for layer in layers].index(layer_name)
    layer, unit = layers[index], 3
    scaler = UnitScaler(layers)
    x = torch.randn(2, 3, 16, 16)

    def run(p_unit, perturbed):
        model = copy.deepcopy(backbone)  # the deep copy keeps the hooks
        if perturbed:
            modules = dict(model.named_modules())
            conv = modules[layer.name]
            norm = modules[[n for n, m in backbone.named_modules()
                            if m is layer.scale_module][0]]
            with torch.no_grad():
                conv.weight[unit] += torch.randn_like(conv.weight[unit])
                norm.weight[unit] *= 3.0
                norm.bias[unit] += 1.0
                norm.running_mean[unit] += 0.5
        probs = [torch.ones(lay.num_units) for lay in layers]
        probs[index][unit] = p_unit
        scaler.probs = probs
        with torch.no_grad():
            return model(x)[-1]

    assert torch.equal(run(0.0, False), run(0.0, True))
    assert not torch.allclose(run(0.5, False), run(0.5, True))


def test_unit_scaler_applies_p_after_batch_norm():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3, bias=False), nn.BatchNorm2d(3))
    net.train()
    layers = find_modulated_layers(resolve_family(net))
    assert len(layers) == 1 and layers[0].scale_module is net[1]
    x = torch.randn(4, 2, 6, 6)
    plain = net(x).detach()
    # a scale on W is normalized away by BN in training mode ...
    scaled = copy.deepcopy(net)
    with torch.no_grad():
        scaled[0].weight[1] *= 0.5
    assert torch.allclose(scaled(x), plain, atol=1e-4)
    # ... P, applied after BN, is not
    scaler = UnitScaler(layers)
    p = torch.tensor([1.0, 0.5, 1.0], requires_grad=True)
    scaler.probs = [p]
    out = net(x)
    assert torch.allclose(out[:, 1], 0.5 * plain[:, 1])
    assert torch.equal(out[:, [0, 2]], plain[:, [0, 2]])
    # and the loss gives P a gradient
    (out * torch.randn_like(out)).sum().backward()
    assert p.grad is not None and p.grad.abs().min() > 0


def test_unit_scaler_linear_units_on_the_last_dim():
    """Linear layers on token inputs (N, L, C): the units are the last dim,
    with or without a LayerNorm after them."""

    class TokenMLP(nn.Module):

        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(6, 5)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(5, 4)
            self.norm = nn.LayerNorm(4)

    torch.manual_seed(0)
    mlp = TokenMLP()

    def forward(model, x):
        return model.norm(model.fc2(model.act(model.fc1(x))))

    layers = find_modulated_layers(resolve_family(mlp))
    assert [layer.name for layer in layers] == ['fc1', 'fc2']
    assert layers[0].scale_module is mlp.fc1
    assert layers[1].scale_module is mlp.norm
    scaler = UnitScaler(layers)
    for x in (torch.randn(2, 3, 6), torch.randn(2, 6)):
        p_fc1, p_norm = torch.ones(5), torch.ones(4)
        p_fc1[2] = 0.0
        p_norm[1] = 0.5
        with torch.no_grad():
            # the reference, by hand and without hooks
            scaler.probs = None
            plain = forward(mlp, x)
            hidden = mlp.act(mlp.fc1(x) * p_fc1)
            expected = mlp.norm(mlp.fc2(hidden)) * p_norm
            scaler.probs = [p_fc1, p_norm]
            out = forward(mlp, x)
            assert torch.equal(out, expected)
            assert not torch.allclose(out, plain)
            # P = 0: the output does not depend on fc1's unit 2
            other = copy.deepcopy(mlp)  # keeps the hooks
            other.fc1.weight[2] += 1.0
            other.fc1.bias[2] -= 1.0
            assert torch.equal(forward(other, x), out)


def test_unit_scaler_conv_with_channels_first_layer_norm():
    """conv -> LayerNorm2d (ConvNeXt): the LayerNorm subclass normalizes the
    channels of an (N, C, H, W) map, so P scales dim 1, not the width."""
    from mmpretrain.models.utils import LayerNorm2d
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), LayerNorm2d(4))
    layers = find_modulated_layers(resolve_family(net))
    assert layers[0].scale_module is net[1]
    scaler = UnitScaler(layers)
    p = torch.tensor([1.0, 0.0, 0.5, 1.0])
    for size in (4, 5):  # width == channels, and not
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            scaler.probs = None
            plain = net(x)
            scaler.probs = [p]
            assert torch.equal(net(x), plain * p.view(1, -1, 1, 1))


# --------------------------------------------------------- 4. descriptors
def test_weight_descriptors_values_and_shapes():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 2)
    linear = nn.Linear(5, 4)
    layers = [ModulatedLayer('conv', conv, conv, 3, 'a'),
              ModulatedLayer('fc', linear, linear, 4, 'b')]
    avg = weight_descriptors(layers, 'avg')
    mx = weight_descriptors(layers, 'max')
    mix = weight_descriptors(layers, 'mix')
    for i, units in enumerate((3, 4)):
        assert avg[i].shape == (units, 1)
        assert mx[i].shape == (units, 1)
        assert mix[i].shape == (units, 2)
        assert not avg[i].requires_grad and not mix[i].requires_grad
        w = layers[i].weight_module.weight.detach()
        mean_abs = torch.tensor([float(w[c].abs().sum()) / w[c].numel()
                                 for c in range(units)])
        max_abs = torch.tensor([float(w[c].abs().max()) for c in range(units)])
        exp_avg = mean_abs / mean_abs.mean()
        exp_max = max_abs / max_abs.mean()
        assert torch.allclose(avg[i][:, 0], exp_avg, rtol=1e-5)
        assert torch.allclose(mx[i][:, 0], exp_max, rtol=1e-5)
        assert torch.allclose(mix[i][:, 0], exp_avg, rtol=1e-5)
        assert torch.allclose(mix[i][:, 1], exp_max, rtol=1e-5)
        # normalized per layer: each feature has mean 1 over the layer
        assert torch.allclose(mix[i].mean(0), torch.ones(2), atol=1e-6)
    with pytest.raises(ValueError, match='descriptor'):
        weight_descriptors(layers, 'median')


# --------------------------------------------------------- 5. AstroNet
UNITS = [4, 8, 8, 16, 12]


def _descs(units=UNITS, features=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(u, features, generator=g) + 0.5 for u in units]


def _astronet(seed=0, **kwargs):
    torch.manual_seed(seed)
    return AstroNetModulator(layer_units=UNITS, **kwargs)


@pytest.mark.parametrize('shape', ['unet', 'fcn', 'cnn'])
def test_astronet_shapes_and_padding(shape):
    an = _astronet(shape=shape, width=4, num_iters=2)
    logits, aux = an(_descs())  # the MNet returns logits; P = sigmoid
    assert [z.shape for z in logits] == [(u, ) for u in UNITS]
    flat = torch.sigmoid(torch.cat(logits))
    # e^t and the temporal term are over the real units only: recompute them
    # from P^1 (the same AN, T = 1) and P^2, without the padded positions
    one = _astronet(shape=shape, width=4, num_iters=1)
    one.load_state_dict(an.state_dict())
    p1 = torch.sigmoid(torch.cat(one(_descs())[0]))
    p2 = flat
    e2 = (p2 / p2.norm() - p1 / p1.norm()).norm()
    assert torch.allclose(aux['e_t'], e2, atol=1e-6)
    assert torch.allclose(aux['loss_temporal'], 1e-3 * (e2 - 1).abs(),
                          atol=1e-8)
    # gradients reach the AN through P
    flat.sum().backward()
    assert an.bias.grad is not None and an.bias.grad.abs() > 0


def test_astronet_iterations_and_temporal_weight():
    descs = _descs()
    an1 = _astronet(num_iters=1)
    an6 = _astronet(num_iters=6)
    an6.load_state_dict(an1.state_dict())
    p1 = torch.cat(an1(descs)[0])
    p6 = torch.cat(an6(descs)[0])
    assert (p1 - p6).abs().max() > 1e-6
    # T = 3: at T = 6 this AN has already reached its fixed point to float
    # precision at init (e^6 == e^5), so the term would be ~0 either way
    an3 = _astronet(num_iters=3)
    an3.load_state_dict(an1.state_dict())
    heavy = _astronet(num_iters=3, temporal_weight=1.0)
    heavy.load_state_dict(an1.state_dict())
    an2 = _astronet(num_iters=2)
    an2.load_state_dict(an1.state_dict())
    light_loss = an3(descs)[1]['loss_temporal']
    heavy_loss, e3 = (heavy(descs)[1][k] for k in ('loss_temporal', 'e_t'))
    e2 = an2(descs)[1]['e_t']
    # lambda * |e^3 - e^2|, e^2 being the T = 2 AN's last error
    assert float(heavy_loss) == pytest.approx(float((e3 - e2).abs()),
                                              rel=1e-5)
    assert torch.allclose(heavy_loss * 1e-3, light_loss, rtol=1e-5)
    with pytest.raises(ValueError):
        _astronet(shape='mlp')
    with pytest.raises(ValueError):
        _astronet(num_iters=0)


def test_modulator_parameter_counts(r18_layers):
    backbone, layers = r18_layers
    units = [layer.num_units for layer in layers]
    tnet = sum(p.numel() for p in backbone.parameters())
    counts = {}
    for shape in ('unet', 'fcn', 'cnn'):
        an = AstroNetModulator(layer_units=units, shape=shape)
        counts[f'astronet-{shape}'] = sum(p.numel() for p in an.parameters())
    manet = MANetModulator(layer_units=units,
                           layer_groups=assign_groups(layers, 4))
    counts['manet-M4'] = sum(p.numel() for p in manet.parameters())
    print(f'\nResNet-18 CIFAR backbone: {tnet} parameters')
    for name, count in counts.items():
        print(f'{name}: {count} parameters ({100 * count / tnet:.2f} % of '
              'the backbone)')
    for shape in ('unet', 'fcn', 'cnn'):
        assert counts[f'astronet-{shape}'] < 0.05 * tnet, shape


# --------------------------------------------------------- 6. MA-Net
GROUPS = [0, 0, 1, 1, 2]


def _manet(seed=0, **kwargs):
    torch.manual_seed(seed)
    cfg = dict(token_dim=16, num_lstm=2, squeeze_len=4, vit_depth=1,
               vit_heads=2)
    cfg.update(kwargs)
    return MANetModulator(layer_units=UNITS, layer_groups=GROUPS, **cfg)


def test_manet_shapes_and_reg():
    net = _manet()
    logits, aux = net(_descs(), _descs(seed=1))  # logits; P = sigmoid
    assert [z.shape for z in logits] == [(u, ) for u in UNITS]
    # lambda scales L_reg: the same MNet (and views) at lambda = 1
    heavy = _manet(reg_weight=1.0)
    assert float(heavy(_descs(), _descs(seed=1))[1]['loss_reg']) == \
        pytest.approx(10 * float(aux['loss_reg']), rel=1e-5)
    aux['loss_reg'].backward()
    assert net.projector[0].weight.grad.abs().sum() > 0
    assert net.g1[0].fc[0].weight.grad.abs().sum() > 0
    probs_noreg, aux_noreg = net(_descs(), _descs(seed=1), with_reg=False)
    assert 'loss_reg' not in aux_noreg
    assert [p.shape for p in probs_noreg] == [(u, ) for u in UNITS]
    with pytest.raises(ValueError):
        _manet(joint='parallel')
    with pytest.raises(ValueError):
        MANetModulator(layer_units=UNITS, layer_groups=[0, 0, 2, 2, 2])


def test_manet_chain_vs_independent():
    chain = _manet(joint='chain').eval()
    indep = _manet(joint='independent').eval()
    for a, b in zip(chain.parameters(), indep.parameters()):
        assert torch.equal(a, b)  # same seed, same weights
    # larger decoders, so the comparison does not hinge on small weights
    torch.manual_seed(1)
    for decoder in chain.decoders:
        nn.init.normal_(decoder.weight, std=0.3)
    indep.load_state_dict(chain.state_dict())
    with torch.no_grad():
        pc, _ = chain(_descs(), with_reg=False)
        pi, _ = indep(_descs(), with_reg=False)
    groups = torch.tensor(GROUPS)
    for i, g in enumerate(GROUPS):
        if g == 0:  # A_1 sees no earlier astrocyte in either mode
            assert torch.equal(pc[i], pi[i])
        else:  # A_j, j > 1, is conditioned on A_<j in the chain only
            assert (pc[i] - pi[i]).abs().max() > 1e-4, i
    assert int(groups.max()) + 1 == chain.num_astrocytes == 3


def test_manet_own_history_switch():
    """Tab. 12's cases: without own history, the carried output of the
    previous round no longer reaches the decoders (with history it does)."""
    with_history = _manet()
    without = _manet(use_history=False)
    without.load_state_dict(with_history.state_dict())
    torch.manual_seed(1)
    for net in (with_history, without):
        for decoder in net.decoders:
            nn.init.normal_(decoder.weight, std=0.3)
    without.load_state_dict(with_history.state_dict())
    with torch.no_grad():
        same = [torch.cat(n.eval()(_descs(), with_reg=False)[0])
                for n in (with_history, without)]
        assert torch.equal(*same)  # no history yet: identical
        for net in (with_history, without):
            net.own_history.normal_()
        after = [torch.cat(n(_descs(), with_reg=False)[0])
                 for n in (with_history, without)]
    assert torch.equal(after[1], same[1])  # the history is ignored
    assert (after[0] - same[0]).abs().max() > 1e-4  # the history is read


def test_manet_end_round_carries_the_state():
    net = _manet()
    descs = _descs()
    zeros = torch.zeros_like(net.lstm_state)
    # eval: no state is recorded
    net.eval()
    with torch.no_grad():
        p_eval, _ = net(descs, with_reg=False)
    net.end_round()
    assert torch.equal(net.lstm_state, zeros)
    # a read in training mode (with_reg=False: W-steps, logs) records
    # nothing either: only a Phi-step's forward carries state
    net.train()
    with torch.no_grad():
        net(descs, with_reg=False)
    assert torch.equal(net.next_lstm_state, zeros)
    assert not net.next_own_history.any()
    # training forward: recorded as the next state, used after end_round
    probs, _ = net(descs)
    assert torch.equal(net.lstm_state, zeros)
    assert net.next_lstm_state.abs().sum() > 0
    net.end_round()
    assert torch.equal(net.lstm_state, net.next_lstm_state)
    assert net.lstm_state.abs().sum() > 0
    assert torch.equal(net.own_history, net.next_own_history)
    assert not net.lstm_state.requires_grad
    carried = net.lstm_state.clone()
    net.eval()
    with torch.no_grad():
        p_after, _ = net(descs, with_reg=False)
    net.end_round()
    assert torch.equal(net.lstm_state, carried)  # eval changed nothing
    assert not torch.equal(torch.cat(p_eval), torch.cat(p_after))


# --------------------------------------------------------- 7. groups, checks
def test_assign_groups(r18_layers):
    _, layers = r18_layers
    assert assign_groups(layers, 4) == [0] * 4 + [1] * 5 + [2] * 5 + [3] * 5
    assert assign_groups(layers, 2) == [0] * 10 + [1] * 9
    assert assign_groups(layers, 3) == [0] * 7 + [1] * 6 + [2] * 6
    assert assign_groups(layers, 1) == [0] * 19
    assert assign_groups(layers, 19) == list(range(19))
    for m in (20, 0, -1):
        with pytest.raises(ValueError) as err:
            assign_groups(layers, m)
        msg = str(err.value)
        assert re.search(rf'M\)? = {m}\b', msg), msg
        assert '19' in msg


def test_config_errors():
    with pytest.raises(ValueError, match='warmup_rounds'):
        AlternatingAlgorithm(architecture=TINY_ARCH, modulator=TINY_ASTRONET,
                             warmup_rounds=-1)
    with pytest.raises(ValueError, match='num_astrocytes'):
        AlternatingAlgorithm(
            architecture=TINY_ARCH,
            modulator=dict(TINY_ASTRONET, num_astrocytes=2))
    with pytest.raises(ValueError, match='week'):
        AlternationHook(round_unit='week')
    with pytest.raises(ValueError):
        AlternationHook(round_interval=0)


def test_alternation_hook_rounds():
    runner = SimpleNamespace(epoch=4, iter=7, model=None)
    assert AlternationHook('epoch').round_of(runner) == 5
    assert AlternationHook('epoch', 2).round_of(runner) == 3
    assert AlternationHook('iter').round_of(runner) == 8
    assert AlternationHook('iter', 3).round_of(runner) == 3
    seen = []
    runner.max_iters = 28
    runner.model = SimpleNamespace(
        set_round=lambda *args, **kwargs: seen.append((args, kwargs)))
    AlternationHook('iter', 3).before_train_iter(runner, 0)
    assert seen == [((3, ), dict(per_batch=False))]
    seen.clear()
    AlternationHook('batch', 3).before_train_iter(runner, 0)
    assert seen == [((3, ), dict(per_batch=True))]


# --------------------------------------------------------- 3. gradients
MANET_PARAMS = [
    'g1.0.fc.0.weight', 'g1.18.fc.2.weight', 'pos_embed',
    'g2.layers.0.linear1.weight', 'astrocytes.0.lstms.0.weight_ih_l0',
    'astrocytes.3.lstms.1.weight_hh_l0', 'astrocytes.1.context.weight',
    'decoders.0.weight', 'decoders.0.bias', 'decoders.9.weight',
    'decoders.18.bias'
]
ASTRONET_PARAMS = ['bias', 'net.head.weight', 'net.enc1.0.weight',
                   'net.mid.0.weight', 'net.dec.0.weight']


@pytest.mark.parametrize('modulator,param_names', [
    (TINY_MANET, MANET_PARAMS), (TINY_ASTRONET, ASTRONET_PARAMS)],
    ids=['manet', 'astronet'])
def test_alternating_phases(modulator, param_names):
    algo = _algorithm(modulator, warmup_rounds=1)
    plain = MODELS.build(TINY_ARCH)
    plain.load_state_dict(algo.architecture.state_dict())
    wrappers = build_optim_wrapper(algo, OPTIM)
    data = _batch()
    arch_params = list(algo.architecture.named_parameters())
    mod_params = list(algo.modulator.named_parameters())

    # warm-up: the plain network, W trains, Phi does not
    algo.set_round(1)
    assert algo.phase == 'warmup' and algo.current_probs() is None
    algo.eval()
    plain.eval()
    x = algo.data_preprocessor(data, False)['inputs']
    with torch.no_grad():
        assert torch.equal(algo(x), plain(x))
    algo.train()
    w0, phi0 = _snapshot(arch_params), _snapshot(mod_params)
    log = algo.train_step(data, wrappers)
    assert log['mean_p'] == 1.0
    assert _changed(w0, arch_params) and not _changed(phi0, mod_params)

    # Phi-round: the task loss alone gives Phi a gradient, W none
    algo.set_round(2)
    assert algo.phase == 'phi'
    assert not any(p.requires_grad for _, p in arch_params)
    assert all(p.requires_grad for _, p in mod_params)
    batch = algo.data_preprocessor(data, True)
    logits, _ = algo.modulator(algo._descriptors(),
                               algo._rows(algo.previous_snapshot))
    algo.scaler.probs = [torch.sigmoid(z) for z in logits]
    task_loss = algo.architecture(**batch, mode='loss')['loss']
    named = dict(mod_params)
    grads = torch.autograd.grad(task_loss, [named[n] for n in param_names],
                                allow_unused=True)
    for name, grad in zip(param_names, grads):
        assert grad is not None, name
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0, name
    algo.modulator.zero_grad()
    w0, phi0 = _snapshot(arch_params), _snapshot(mod_params)
    log = algo.train_step(data, wrappers)
    assert all(p.grad is None or not p.grad.any() for _, p in arch_params)
    assert not _changed(w0, arch_params)
    changed = _changed(phi0, mod_params)
    for name in param_names:
        assert name in changed, name
    # the P of the stepped MNet is cached (for the W-round) and logged
    assert torch.allclose(algo.cached_probs, algo._flat(algo._read_probs()))
    assert log['mean_p'] == pytest.approx(float(algo.cached_probs.mean()))
    aux_key = 'loss_reg' if 'num_astrocytes' in modulator else 'loss_temporal'
    assert aux_key in log

    # W-round: P cached, Phi frozen, W trains
    algo.set_round(3)
    assert algo.phase == 'tnet'
    assert all(p.requires_grad for _, p in arch_params)
    assert not any(p.requires_grad for _, p in mod_params)
    w0, phi0 = _snapshot(arch_params), _snapshot(mod_params)
    log = algo.train_step(data, wrappers)
    assert not _changed(phi0, mod_params)
    assert all(p.grad is None or not p.grad.any() for _, p in mod_params)
    assert _changed(w0, arch_params)
    assert torch.equal(algo._flat(algo.scaler.probs), algo.cached_probs)
    assert log['mean_p'] == pytest.approx(float(algo.cached_probs.mean()))


def test_optim_wrappers_split_the_manet_per_astrocyte():
    algo = _algorithm(TINY_MANET)
    wrappers = build_optim_wrapper(algo, OPTIM)
    assert list(wrappers.keys()) == [
        'tnet', 'mnet', 'mnet_a1', 'mnet_a2', 'mnet_a3', 'mnet_a4']
    seen = []
    for name, wrapper in wrappers.items():
        if name.startswith('mnet'):
            seen += [id(p) for group in wrapper.optimizer.param_groups
                     for p in group['params']]
    assert sorted(seen) == sorted(id(p) for p in algo.modulator.parameters())
    tnet_ids = {id(p) for group in wrappers['tnet'].optimizer.param_groups
                for p in group['params']}
    assert tnet_ids == {id(p) for p in algo.architecture.parameters()}


# --------------------------------------------------------- 8. rounds
def test_phase_of():
    phase_of = AlternatingAlgorithm.phase_of
    assert [phase_of(r, 2) for r in range(1, 7)] == [
        'warmup', 'warmup', 'tnet', 'phi', 'tnet', 'phi']
    assert [phase_of(r, 0) for r in range(1, 5)] == [
        'tnet', 'phi', 'tnet', 'phi']
    assert [phase_of(r, 5) for r in range(1, 9)] == ['warmup'] * 5 + [
        'phi' if r % 2 == 0 else 'tnet' for r in range(6, 9)]
    # the authors' per-batch alternation: a Phi- and a W-step every batch
    assert [phase_of(r, 2, per_batch=True) for r in range(1, 6)] == [
        'warmup', 'warmup', 'batch', 'batch', 'batch']


def test_set_round_caches_p_per_round():
    algo = _algorithm(TINY_ASTRONET, warmup_rounds=1)
    wrappers = build_optim_wrapper(algo, OPTIM)
    data = _batch(n=2)

    def fresh_probs():
        with torch.no_grad():
            logits, _ = algo.modulator(weight_descriptors(algo.layers),
                                       algo._rows(algo.previous_snapshot))
        return torch.sigmoid(algo._flat(logits))  # paper mode: P = sigmoid

    algo.set_round(3)
    assert algo.phase == 'tnet'
    cached = algo.cached_probs.clone()
    assert torch.allclose(cached, fresh_probs())
    assert not torch.equal(cached, torch.ones_like(cached))
    with torch.no_grad():
        algo.modulator.bias.add_(1.0)  # Phi changes within the round
    algo.train_step(data, wrappers)  # ... and so does W
    algo.set_round(3)
    assert torch.equal(algo.cached_probs, cached)  # not recomputed
    assert torch.equal(algo._flat(algo.current_probs()), cached)
    algo.set_round(4)  # a Phi-round leaves the cache alone
    assert algo.phase == 'phi'
    assert torch.equal(algo.cached_probs, cached)
    algo.set_round(5)  # a new W-round recomputes it
    assert not torch.equal(algo.cached_probs, cached)
    assert torch.allclose(algo.cached_probs, fresh_probs())
    assert (algo.cached_probs > cached).all()  # the bias went up


def test_folded_batch_norm_restores_its_parameters():
    """P folded into BN's affine for one call; the Parameters come back,
    also when the call raises."""
    from astro_mm.models.modulated import UnitScaler, find_modulated_layers
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    wrapper = nn.Sequential()
    wrapper.add_module('block', net)
    layers = find_modulated_layers(resolve_family(wrapper), exclude=())
    scaler = UnitScaler(layers)
    bn = net[1]
    weight, bias = bn.weight, bn.bias
    scaler.probs = [torch.tensor([1.0, 0.5, 0.0, 2.0])]
    out = wrapper(torch.randn(2, 3, 5, 5))
    assert bn.weight is weight and bn.bias is bias
    assert isinstance(bn.weight, nn.Parameter)
    assert list(bn.state_dict()) == [
        'weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'
    ]
    assert torch.equal(out[:, 2], torch.zeros_like(out[:, 2]))
    with pytest.raises(RuntimeError):
        wrapper(torch.randn(2, 5, 5, 5))  # wrong channels: conv raises
    bn(torch.randn(2, 4, 3, 3))  # BN itself raising is covered by always_call
    with pytest.raises(ValueError):
        bn(torch.randn(1, 4, 1, 1))  # one value per channel in training
    assert bn.weight is weight and bn.bias is bias
