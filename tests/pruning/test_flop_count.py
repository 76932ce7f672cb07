"""The FLOP counter of the prune report (mmengine's FlopAnalyzer, matrix
products only): a ViT's FLOPs match the analytic count, attention
included, which a counter of module hooks misses; for the CNNs the report
counts exactly what a FLOPs budget counts (KeptCost, the baseline
pruners), before and after pruning."""
import copy

import pytest
import torch
from mmengine.registry import DefaultScope
from torch import nn

import astro_mm  # noqa: F401
from astro_mm.families import inner_widths, resolve_family, shrink_to_widths
from astro_mm.pruning import KeptCost, prune_baseline
from astro_mm.pruning.report import (budget_flops, compare, flops,
                                            flops_by_operator,
                                            format_report)
from astro_mm.registry import MODELS

# ViT: 32 px in 8 px patches = 16 tokens + the class token
IMAGE, PATCH, EMBED, HEADS, FFN, LAYERS = 32, 8, 32, 2, 64, 2
VITS = {
    'mmpretrain': dict(type='mmpretrain.VisionTransformer',
                       arch=dict(embed_dims=EMBED, num_layers=LAYERS,
                                 num_heads=HEADS,
                                 feedforward_channels=FFN),
                       img_size=IMAGE, patch_size=PATCH),
    'timm': dict(type='mmpretrain.TIMMBackbone',
                 model_name='vit_tiny_patch16_224', pretrained=False,
                 img_size=IMAGE, patch_size=PATCH, depth=LAYERS,
                 embed_dim=EMBED, num_heads=HEADS, mlp_ratio=FFN / EMBED),
}
# the fair study's ResNet-20 (28 px Fashion-MNIST, stride-2 stem) and a
# narrow ImageNet ResNet-18 (its stem's max-pool, not a matrix product)
CNNS = {
    'resnet20-cifar': (dict(type='astro_mm.CIFARResNet', depth=20,
                            in_channels=1, stem_stride=2), (1, 28, 28)),
    'resnet18': (dict(type='mmpretrain.ResNet', depth=18, stem_channels=32,
                      base_channels=32), (3, 64, 64)),
}


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.set_num_threads(1)
        yield


def _vit_macs(heads=HEADS, ffn=FFN):
    """The ViT's multiply-adds by hand, per part, for heads / FFN widths
    per layer (lists) or one for all."""
    heads = heads if isinstance(heads, list) else [heads] * LAYERS
    ffn = ffn if isinstance(ffn, list) else [ffn] * LAYERS
    patches = (IMAGE // PATCH)**2
    tokens = patches + 1
    head_dims = EMBED // HEADS
    patch_embed = patches * EMBED * 3 * PATCH * PATCH
    linear = attention = 0
    for h, f in zip(heads, ffn):
        linear += tokens * EMBED * 3 * h * head_dims  # qkv
        linear += tokens * h * head_dims * EMBED  # proj
        linear += 2 * tokens * EMBED * f  # fc1, fc2
        # q @ k^T and attn @ v: tokens x tokens x head_dims, per head
        attention += 2 * h * tokens * tokens * head_dims
    return dict(conv=patch_embed, linear=linear, attention=attention)


def _module_hook_macs(model, inputs):
    """What a counter of module hooks (the report's before; thop;
    Torch-Pruning's count_ops_and_params) counts: conv and linear
    layers' multiply-adds."""
    total = [0]

    def count(module, args, output):
        # an output element takes one weight row (conv: C_in / g x k x k)
        total[0] += output.numel() * module.weight[0].numel()

    handles = [m.register_forward_hook(count) for m in model.modules()
               if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))]
    with torch.no_grad():
        model(inputs)
    for handle in handles:
        handle.remove()
    return total[0]


@pytest.mark.parametrize('name', sorted(VITS))
def test_vit_flops_match_the_analytic_count_attention_included(name):
    vit = MODELS.build(VITS[name])
    vit.eval()
    expected = _vit_macs()
    counted = flops(vit, IMAGE)
    assert counted == pytest.approx(sum(expected.values()), rel=0.02)
    # a counter of module hooks sees the layers only; the difference is
    # attention's two products, more than the 2 % tolerance
    hooked = _module_hook_macs(vit, torch.randn(1, 3, IMAGE, IMAGE))
    assert hooked == expected['conv'] + expected['linear']
    assert counted - hooked == expected['attention']
    assert expected['attention'] > 0.02 * sum(expected.values())


def test_a_pruned_vit_the_budget_counts_its_layers_the_report_attention_too():
    """KeptCost (a FLOPs budget) counts the convs' and linears' MACs: the
    report's conv + linear, before and after removing heads and FFN
    neurons; the report adds the kept heads' attention products."""
    vit = MODELS.build(VITS['mmpretrain'])
    plan = resolve_family(vit, strict=True)
    cost = KeptCost(plan, plan.prunable_layer_names(), 'flops',
                    (3, IMAGE, IMAGE))
    before = flops_by_operator(vit, IMAGE)
    assert budget_flops(before) == cost.total
    widths = {'layers.0': [1, 40], 'layers.1': [2, 17]}  # [heads, FFN]
    pruned = shrink_to_widths(copy.deepcopy(vit), widths)
    full = inner_widths(vit)
    gates = [torch.arange(full[block][slot], dtype=torch.float64) < width
             for block in sorted(widths)
             for slot, width in enumerate(widths[block])]
    after = flops_by_operator(pruned, IMAGE)
    assert budget_flops(after) == cost.kept([g.double() for g in gates]).item()
    expected = _vit_macs(heads=[1, 2], ffn=[40, 17])
    assert after == dict(conv=expected['conv'], linear=expected['linear'],
                         scaled_dot_product_attention=expected['attention'])
    report = compare(vit, pruned, IMAGE, batches=(1, ), repeats=1)
    assert report['flops_by_operator'] == dict(before=before, after=after)
    assert report['flops_after'] == sum(after.values())
    assert 'conv+linear (G)' in format_report(report)


@pytest.mark.parametrize('name', sorted(CNNS))
def test_cnn_report_flops_are_the_budget_measure_before_and_after_pruning(
        name):
    """The report's FLOPs, KeptCost's (the budget-aware mode's) and a
    random pruned width's agree exactly: no norm, pooling or activation
    counted."""
    backbone_cfg, shape = CNNS[name]
    backbone = MODELS.build(backbone_cfg)
    plan = resolve_family(backbone, strict=True)
    cost = KeptCost(plan, plan.prunable_layer_names(), 'flops', shape)
    counts = flops_by_operator(backbone, shape[1:], shape[0])
    assert set(counts) == {'conv'}
    assert flops(backbone, shape[1], shape[0]) == cost.total
    generator = torch.Generator().manual_seed(0)
    full = inner_widths(backbone)
    widths = {block: [int(torch.randint(1, w + 1, (), generator=generator))
                      for w in block_widths]
              for block, block_widths in full.items()}
    pruned = shrink_to_widths(copy.deepcopy(backbone), widths)
    gates = [torch.arange(w, dtype=torch.float64) < kept
             for block in plan.blocks
             for w, kept in zip(full[block], widths[block])]
    after = flops(pruned, shape[1], shape[0])
    assert after < cost.total
    assert after == cost.kept([g.double() for g in gates]).item()


@pytest.mark.parametrize('coupled', [False, True])
def test_the_baseline_pruners_count_as_the_report(coupled):
    """Torch-Pruning's prune (stage channels too when coupled) meets its
    FLOPs budget in the report's count."""
    torch.manual_seed(0)  # l1's ranking, so the channels it can remove
    classifier = MODELS.build(dict(
        type='mmpretrain.ImageClassifier', backbone=CNNS['resnet18'][0],
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=3,
                  in_channels=256)))
    result = prune_baseline(classifier, 'l1', 0.6, measure='flops',
                            input_size=(64, 64), coupled=coupled,
                            plan=resolve_family(classifier.backbone, strict=True))
    before = flops(classifier.backbone, 64)
    after = flops(result.model.backbone, 64)
    assert (result.flops_before, result.flops_after) == (before, after)
    assert 0.59 <= after / before <= 0.6
