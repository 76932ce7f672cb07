"""AstroNet / MA-Net on the other TNets of the papers: DenseNet-BC, ViT,
Swin and timm models; their modulated units and their physical pruning.

Every network is tiny (a few thousand parameters, 32x32 inputs); everything
runs in-process.
"""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

import astro_mm  # noqa: F401  (registers the components)
from astro_mm.families import resolve_family
from astro_mm.models.modulated import (ModulatedLayer, UnitScaler,
                                       find_modulated_layers)
from astro_mm.pruning import export_pruned
from astro_mm.registry import MODELS
from conftest import ROOT
from helpers import assert_rebuilds_from_widths

NUM_CLASSES = 3
BACKBONES = {
    # 2 dense blocks of 2 layers, k = 4, bottlenecks of 4k = 16 channels
    'densenet': dict(type='astro_mm.DenseNet_CIFAR',
                     arch=dict(growth_rate=4, depths=[2, 2], init_channels=8)),
    'vit': dict(type='mmpretrain.VisionTransformer',
                arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                          feedforward_channels=64),
                img_size=32, patch_size=8),
    'swin': dict(type='mmpretrain.SwinTransformer',
                 arch=dict(embed_dims=16, depths=[1, 1], num_heads=[2, 2]),
                 img_size=32, patch_size=4, window_size=4, out_indices=(1, )),
    'timm-resnet18': dict(type='mmpretrain.TIMMBackbone',
                          model_name='resnet18', pretrained=False,
                          stem_type='deep', stem_width=4,
                          channels=(8, 16, 32, 64)),
    'timm-vit': dict(type='mmpretrain.TIMMBackbone',
                     model_name='vit_tiny_patch16_224', pretrained=False,
                     img_size=32, patch_size=8, depth=2, embed_dim=32,
                     num_heads=2, mlp_ratio=2.0),
}
OUT_CHANNELS = {'densenet': 16, 'vit': 32, 'swin': 32, 'timm-resnet18': 64,
                'timm-vit': 32}
# (name, kind, units) of every modulated layer, in order
EXPECTED_LAYERS = {
    'densenet': [(f'stages.{s}.block.{b}.conv1', 'channel', 16)
                 for s in range(2) for b in range(2)],
    'vit': [x for i in range(2) for x in (
        (f'layers.{i}.attn', 'head', 2),
        (f'layers.{i}.ffn.layers.0.0', 'channel', 64))],
    'swin': [('stages.0.blocks.0.attn.w_msa', 'head', 2),
             ('stages.0.blocks.0.ffn.layers.0.0', 'channel', 64),
             ('stages.1.blocks.0.attn.w_msa', 'head', 2),
             ('stages.1.blocks.0.ffn.layers.0.0', 'channel', 128)],
    'timm-resnet18': [
        (f'timm_model.layer{s}.{b}.{conv}', 'channel', 8 * 2**(s - 1))
        for s in range(1, 5) for b in range(2)
        for conv in (('conv1', 'conv2', 'downsample.0')
                     if s > 1 and b == 0 else ('conv1', 'conv2'))],
    'timm-vit': [x for i in range(2) for x in (
        (f'timm_model.blocks.{i}.attn', 'head', 2),
        (f'timm_model.blocks.{i}.mlp.fc1', 'channel', 64))],
}
# MA-Net's default grouping: one sub-astrocyte per stage (per transformer
# layer for a ViT), with M set to the number of stages
EXPECTED_GROUPS = {
    'densenet': (2, [0, 0, 1, 1]),
    'vit': (2, [0, 0, 1, 1]),
    'swin': (2, [0, 0, 1, 1]),
    'timm-resnet18': (4, [0] * 4 + [1] * 5 + [2] * 5 + [3] * 5),
    'timm-vit': (2, [0, 0, 1, 1]),
}
TINY_MANET = dict(type='astro_mm.MANetModulator', token_dim=16, num_lstm=2,
                  squeeze_len=8, vit_depth=1, vit_heads=2)
TINY_ASTRONET = dict(type='astro_mm.AstroNetModulator', width=4, num_iters=2)
DELTA = 0.3


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield
    torch.set_num_threads(threads)


def _backbone(name, seed=0, train=False):
    torch.manual_seed(seed)
    backbone = MODELS.build(copy.deepcopy(BACKBONES[name]))
    _randomize_norms(backbone)
    backbone.train(train)
    return backbone


def _randomize_norms(model):
    """Non-trivial norms and statistics, as after training."""
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm2d, nn.LayerNorm)):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)


def _architecture(name):
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=copy.deepcopy(BACKBONES[name]),
        neck=dict(type='mmpretrain.GlobalAveragePooling')
        if name in ('densenet', 'swin', 'timm-resnet18') else None,
        head=dict(type='mmpretrain.LinearClsHead', num_classes=NUM_CLASSES,
                  in_channels=OUT_CHANNELS[name]),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=NUM_CLASSES))


def _algorithm(name, modulator=TINY_ASTRONET, warmup_rounds=0, seed=0):
    torch.manual_seed(seed)
    modulator = copy.deepcopy(modulator)
    if modulator['type'].endswith('MANetModulator'):
        modulator['num_astrocytes'] = EXPECTED_GROUPS[name][0]
    algo = MODELS.build(dict(
        type='astro_mm.AlternatingAlgorithm', architecture=_architecture(name),
        modulator=modulator, warmup_rounds=warmup_rounds))
    _randomize_norms(algo.architecture)
    return algo


def _features(backbone, x):
    out = backbone(x)[-1]
    return out.flatten(1) if out.dim() > 2 else out


def _batch(n=4, seed=0):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    return dict(
        inputs=[torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8,
                              generator=g) for _ in range(n)],
        data_samples=[DataSample().set_gt_label(i % NUM_CLASSES)
                      for i in range(n)])


# ------------------------------------------------------- modulated units
@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_default_units_are_the_intended_ones(name):
    backbone = _backbone(name)
    layers = find_modulated_layers(resolve_family(backbone))
    assert [(l.name, l.kind, l.num_units) for l in layers] == \
        EXPECTED_LAYERS[name]
    modules = dict(backbone.named_modules())
    for layer in layers:
        if layer.kind == 'head':
            # |W| of a head: its q, k, v rows; P scales proj's input
            attn = modules[layer.name]
            assert layer.weight_module is attn.qkv
            assert layer.scale_module is attn.proj
            heads, weight = layer.num_units, attn.qkv.weight
            dims = weight.shape[0] // (3 * heads)
            rows = [torch.cat([weight[(s * heads + h) * dims:][:dims].flatten()
                               for s in range(3)]) for h in range(heads)]
            assert torch.equal(layer.unit_weights(), torch.stack(rows))
        elif name == 'densenet':
            # P after the bottleneck's own norm (norm2), not on conv1's
            # output, which norm2 would normalize away in training mode
            block = modules[layer.name.rsplit('.', 1)[0]]
            assert layer.scale_module is block.norm2
        elif 'resnet' in name:
            assert isinstance(layer.scale_module, nn.BatchNorm2d)
        else:  # FFN hidden neurons: no norm follows, P on fc1's output
            assert layer.scale_module is layer.weight_module
    groups, expected = EXPECTED_GROUPS[name]
    algo = _algorithm(name, TINY_MANET)
    assert algo.modulator.layer_groups == expected
    assert algo.modulator.num_astrocytes == groups


def test_heads_can_be_switched_off_and_bad_attention_is_named():
    backbone = _backbone('vit')
    layers = find_modulated_layers(resolve_family(backbone), heads=False)
    assert [l.name for l in layers] == [
        'layers.0.ffn.layers.0.0', 'layers.1.ffn.layers.0.0']
    with pytest.raises(ValueError, match='heads=True'):
        find_modulated_layers(resolve_family(_backbone('densenet')),
                              heads=True)
    with pytest.raises(ValueError, match=r'layers\.0\.ffn.*head units'):
        find_modulated_layers(resolve_family(backbone),
                              heads=r'^layers\.0\.ffn$')


@pytest.mark.parametrize('name', sorted(BACKBONES))
@pytest.mark.parametrize('train', [False, True])
def test_p_one_is_the_plain_network_and_p_zero_removes_a_unit(name, train):
    backbone = _backbone(name, train=train)
    layers = find_modulated_layers(resolve_family(backbone))
    scaler = UnitScaler(layers)
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        plain = _features(backbone, x)
        scaler.probs = [torch.ones(l.num_units) for l in layers]
        assert torch.equal(_features(backbone, x), plain)

    def run(index, unit, p_unit, perturbed):
        model = copy.deepcopy(backbone)  # keeps the hooks
        if perturbed:
            _perturb_unit(model, backbone, layers[index], unit)
        probs = [torch.ones(l.num_units) for l in layers]
        probs[index][unit] = p_unit
        scaler.probs = probs
        torch.manual_seed(1)  # the same drop-path draws in training mode
        with torch.no_grad():
            return _features(model, x)

    for index in (0, len(layers) - 1):
        unit = layers[index].num_units - 1
        assert torch.equal(run(index, unit, 0.0, False),
                           run(index, unit, 0.0, True)), layers[index].name
        assert not torch.allclose(run(index, unit, 0.5, False),
                                  run(index, unit, 0.5, True))


def _perturb_unit(model, original, layer: ModulatedLayer, unit: int):
    """Change every weight of ``unit`` in ``model``, a copy of ``original``
    (and the batch norm P acts after)."""
    names = {id(m): n for n, m in original.named_modules()}
    modules = dict(model.named_modules())
    weight = modules[names[id(layer.weight_module)]].weight
    with torch.no_grad():
        if layer.kind == 'head':  # its q, k and v rows
            rows = weight.view(3, layer.num_units, -1, weight.shape[1])
            rows[:, unit] += torch.randn_like(rows[:, unit])
            return
        weight[unit] += torch.randn_like(weight[unit])
        norm = modules[names[id(layer.scale_module)]]
        if isinstance(norm, nn.BatchNorm2d):
            norm.weight[unit] *= 3.0
            norm.bias[unit] += 1.0
            norm.running_mean[unit] += 0.5


@pytest.mark.parametrize('name', sorted(BACKBONES))
@pytest.mark.parametrize('modulator', [TINY_MANET, TINY_ASTRONET],
                         ids=['manet', 'astronet'])
def test_task_loss_gives_phi_a_gradient(name, modulator):
    """d L_data / d Phi != 0, with the TNet in training mode (batch
    statistics), through every modulated layer's P."""
    algo = _algorithm(name, modulator, warmup_rounds=1)
    algo.train()
    algo.set_round(2)  # a Phi-round
    assert algo.phase == 'phi'
    data = algo.data_preprocessor(_batch(), True)
    logits, _ = algo.modulator(algo._descriptors(),
                               algo._rows(algo.previous_snapshot))
    probs = [torch.sigmoid(z) for z in logits]  # paper mode: P = sigmoid
    for p in probs:
        p.retain_grad()
    algo.scaler.probs = probs
    # the classification loss; by hand because timm's ViT, wrapped by
    # TIMMBackbone, returns all tokens (its logits are averaged here)
    logits = algo.architecture(data['inputs'], mode='tensor')
    labels = torch.cat([s.gt_label for s in data['data_samples']])
    loss = F.cross_entropy(logits.flatten(1, -2).mean(1)
                           if logits.dim() == 3 else logits, labels)
    loss.backward()
    for layer, p in zip(algo.layers, probs):
        assert p.grad.abs().max() > 1e-6, layer.name
    grads = [q.grad for q in algo.modulator.parameters() if q.grad is not None]
    assert grads and max(float(g.abs().max()) for g in grads) > 0
    assert not any(q.grad is not None and q.grad.abs().max() > 0
                   for q in algo.architecture.parameters())  # W frozen


def test_densenet_p_on_the_conv_output_would_get_no_gradient():
    """Why P acts after norm2: on conv1's output, in training mode, the
    batch norm right behind normalizes the scale away."""
    backbone = _backbone('densenet', train=True)
    conv = backbone.stages[0].block[0].conv1
    before_norm = ModulatedLayer('stages.0.block.0.conv1', conv, conv,
                                 conv.out_channels, 'stages.0')
    after_norm = find_modulated_layers(resolve_family(backbone))[0]
    x = torch.randn(4, 3, 32, 32)
    weights = torch.randn(1, 16 * 16 * 16)  # a fixed linear read-out
    grads = []
    for layer in (before_norm, after_norm):
        scaler = UnitScaler([layer])
        p = torch.full((layer.num_units, ), 0.7, requires_grad=True)
        scaler.probs = [p]
        (_features(backbone, x) * weights).sum().backward()
        grads.append(p.grad.abs().max())
        scaler.remove()
    assert grads[0] < 1e-3 * grads[1]  # only through BN's eps
    assert grads[1] > 1e-3


# -------------------------------------------------------------- pruning
PRUNED = ['densenet', 'vit', 'swin', 'timm-resnet18', 'timm-vit']


def _pruning_algorithm(name, seed=0):
    algo = _algorithm(name, seed=seed)
    algo.set_round(1)  # a W-round: P cached
    g = torch.Generator().manual_seed(seed)
    probs = algo._rows(torch.rand(algo.cached_probs.shape, generator=g))
    for layer, p in zip(algo.layers, probs):
        if layer.kind == 'head':  # one head of every layer goes
            p.copy_(torch.tensor([0.9, 0.1]))
    algo.cached_probs.copy_(algo._flat(probs))
    return algo.eval()


@pytest.mark.parametrize('name', PRUNED)
def test_pruned_other_tnet_computes_the_thresholded_modulated_one(name):
    algo = _pruning_algorithm(name)
    inputs = torch.randn(2, 3, 32, 32)
    result = export_pruned(algo, threshold=DELTA)
    # units under delta switched off in the prunable slots only: a
    # modulated unit outside them (Swin's heads, timm ResNet's conv2 /
    # downsample) is never zeroed, its P is folded as it is
    slots = set(algo.family_plan.prunable_layer_names())
    probs = algo._rows(algo.cached_probs.clone())
    expected_probs = [p * (p >= DELTA) if layer.name in slots else p
                      for layer, p in zip(algo.layers, probs)]
    for realized, want in zip(result.probs, expected_probs):
        assert torch.equal(realized, want)
    algo.cached_probs.copy_(algo._flat(expected_probs))
    with torch.no_grad():
        expected = algo(inputs, mode='tensor')
        actual = result.model(inputs, mode='tensor')
    assert (actual - expected).abs().max() <= 1e-4
    assert result.params_after < result.params_before
    assert sum(p.numel() for p in result.model.backbone.parameters()) == \
        result.params_after
    full = algo.family_plan.inner_widths()
    assert set(result.widths) == set(full)
    assert all(w <= f for block in full
               for w, f in zip(result.widths[block], full[block]))
    assert sum(map(sum, result.widths.values())) < sum(map(sum, full.values()))
    assert not any(m._forward_hooks or m._forward_pre_hooks
                   for m in result.model.modules())


def test_pruned_widths_by_family():
    widths = {name: export_pruned(_pruning_algorithm(name),
                                  threshold=DELTA).widths
              for name in ('densenet', 'vit', 'swin')}
    # DenseNet: one bottleneck width per dense layer
    assert sorted(widths['densenet']) == [
        f'stages.{s}.block.{b}' for s in range(2) for b in range(2)]
    assert all(len(w) == 1 and 1 <= w[0] < 16
               for w in widths['densenet'].values())
    # ViT: [heads, FFN hidden] per layer; one head of two removed
    assert sorted(widths['vit']) == ['layers.0', 'layers.1']
    assert all(w[0] == 1 and 1 <= w[1] < 64 for w in widths['vit'].values())
    # Swin: FFN hidden only (heads are not a prunable slot: their P is
    # folded as it is, neither removed nor zeroed)
    assert sorted(widths['swin']) == ['stages.0.blocks.0', 'stages.1.blocks.0']
    assert all(len(w) == 1 for w in widths['swin'].values())


def test_param_budget_on_a_transformer():
    algo = _pruning_algorithm('vit')
    result = export_pruned(algo, budget=0.8)
    assert result.params_after <= 0.8 * result.params_before


@pytest.mark.parametrize('name', ['densenet', 'vit', 'timm-resnet18'])
def test_pruned_backbone_rebuilds_from_widths(name):
    result = export_pruned(_pruning_algorithm(name), threshold=DELTA)
    assert_rebuilds_from_widths(result, BACKBONES[name],
                                torch.randn(2, 3, 32, 32))


def test_mismatched_transformer_widths_name_the_layer_and_shapes():
    result = export_pruned(_pruning_algorithm('vit'), threshold=DELTA)
    widths = {k: list(v) for k, v in result.widths.items()}
    widths['layers.0'][1] += 1
    wrong = MODELS.build(dict(type='astro_mm.PrunedBackbone',
                              base=BACKBONES['vit'], widths=widths))
    state = result.model.backbone.state_dict()
    with pytest.raises(ValueError) as err:
        wrong.load_state_dict(state)
    message = str(err.value)
    key = 'layers.0.ffn.layers.0.0.weight'
    assert 'layers.0.ffn.layers.0.0' in message
    assert str(tuple(state[key].shape)) in message
    with pytest.raises(ValueError, match=r'block layers\.0 has 2 inner'):
        MODELS.build(dict(type='astro_mm.PrunedBackbone',
                          base=BACKBONES['vit'], widths={'layers.0': [1]}))
    with pytest.raises(ValueError, match=r'layers\.0\.attn: width 3'):
        MODELS.build(dict(type='astro_mm.PrunedBackbone',
                          base=BACKBONES['vit'], widths={'layers.0': [3, 8]}))


# --------------------------------------------------------------- configs
CONFIGS = {
    'densenet':
    'configs/manet/manet_densenet-bc-40-k12_1xb64-3e_demo-cifar.py',
    'densenet-astronet':
    'configs/astronet/astronet_densenet-bc-40-k12_1xb64-3e_demo-cifar.py',
    'timm': 'configs/manet/manet_timm-resnet18_1xb64-3e_demo-cifar.py',
}
# the ImageNet ViT / Swin configs build 86-88 M parameter networks: checked
# with the backbone shrunk, the rest of the config as written
LARGE_CONFIGS = {
    'vit': 'configs/manet/manet_vit-base-p16_64xb64_in1k-384px.py',
    'vit-astronet':
    'configs/astronet/astronet_vit-base-p16_64xb64_in1k-384px.py',
    'swin': 'configs/manet/manet_swin-base_16xb64_in1k-384px.py',
    'densenet-tab7':
    'configs/manet/manet_densenet-bc-190-k40_8xb16-200e_cifar10.py',
}


def _build_config_model(path, shrink=None):
    cfg = Config.fromfile(f'{ROOT}/{path}')
    model = copy.deepcopy(cfg.model)
    if shrink:
        model.architecture.backbone.update(shrink)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return cfg, MODELS.build(model)


@pytest.mark.parametrize('key', sorted(CONFIGS))
def test_demo_configs_build_their_model(key):
    cfg, algo = _build_config_model(CONFIGS[key])
    assert type(algo).__name__ == 'AlternatingAlgorithm'
    assert cfg.custom_hooks[0].type == 'astro_mm.AlternationHook'
    out = algo.architecture(torch.randn(2, 3, 32, 32), mode='tensor')
    assert out.shape == (2, 10)
    assert algo.layers and all(l.kind == 'channel' for l in algo.layers)


@pytest.mark.parametrize('key', sorted(LARGE_CONFIGS))
def test_table_configs_build_their_model(key):
    shrink = {
        'vit': dict(arch=dict(embed_dims=32, num_layers=4, num_heads=2,
                              feedforward_channels=64)),
        'swin': dict(arch=dict(embed_dims=32, depths=[1, 1, 1, 1],
                               num_heads=[2, 2, 2, 2])),
        'densenet': dict(arch=dict(growth_rate=4, depths=[2, 2, 2],
                                   init_channels=8)),
    }[key.split('-')[0]]
    cfg, algo = _build_config_model(LARGE_CONFIGS[key], shrink)
    assert len({l.group for l in algo.layers}) >= 3
    wrappers = build_optim_wrapper(algo, cfg.optim_wrapper)
    assert type(wrappers['mnet'].optimizer).__name__ == 'SGD'
    if key.startswith(('vit', 'swin')):
        assert {l.kind for l in algo.layers} == {'head', 'channel'}
        # the TNet keeps the transformer's recipe, with its paramwise rules
        tnet = wrappers['tnet']
        assert type(tnet.optimizer).__name__ == 'AdamW'
        assert tnet.clip_grad_kwargs['max_norm'] > 0
        assert min(g['weight_decay'] for g in tnet.optimizer.param_groups) == 0
