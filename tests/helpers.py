"""Checks and steps that several test modules share.

Fixtures live in ``conftest.py``; plain functions the tests call live here
(``from helpers import ...``: pytest puts this folder on ``sys.path``, as
for ``conftest``).
"""
import os

import torch
from mmpretrain.structures import DataSample
from torch import nn

from astro_mm.apis import prune_checkpoint
from astro_mm.families import strategy_for
from astro_mm.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from conftest import ROOT

BACKBONE_PREFIX = 'backbone.'


def backbone_state(state_dict: dict) -> dict:
    """The ``backbone.*`` tensors of a classifier's or detector's state
    dict, named as in the backbone's own state dict."""
    return {k[len(BACKBONE_PREFIX):]: v for k, v in state_dict.items()
            if k.startswith(BACKBONE_PREFIX)}


def assert_backbone_holds(backbone: dict, state_dict: dict) -> None:
    """Every tensor of ``backbone`` (a backbone's state dict) equals the
    ``backbone.*`` one of ``state_dict`` (a checkpoint's), and the two
    name the same tensors."""
    expected = backbone_state(state_dict)
    assert set(backbone) == set(expected), 'every backbone key is loaded'
    different = [k for k, v in backbone.items()
                 if not torch.equal(v, expected[k])]
    assert not different, f'not loaded: {different[:5]}'


def assert_rebuilds_from_widths(result, base: dict, inputs: torch.Tensor,
                                backbone_type: str = 'astro_mm.PrunedBackbone'
                                ) -> nn.Module:
    """A pruned export's backbone, rebuilt from its widths (as a detector
    config rebuilds it) and loaded strictly from the pruned weights,
    computes what the exported backbone computes.

    Args:
        result: A ``PruneResult`` (``widths``, ``model.backbone``).
        base (dict): The config of the unpruned backbone.
        inputs (Tensor): A batch of images.
        backbone_type (str): The registered name to build it by.

    Returns:
        nn.Module: The rebuilt backbone, in eval mode.
    """
    rebuilt = MODELS.build(dict(type=backbone_type, base=base,
                                widths=result.widths))
    rebuilt.load_state_dict(result.model.backbone.state_dict())
    rebuilt.eval()
    with torch.no_grad():
        for a, b in zip(rebuilt(inputs), result.model.backbone(inputs)):
            torch.testing.assert_close(a, b)
    return rebuilt


def prune_in_process(config: str, checkpoint: str, out: str, **options):
    """:func:`astro_mm.apis.prune_checkpoint` (what ``tools/prune.py``
    runs) from the repository root, as the command line runs it: relative
    config paths resolve there. Returns the report."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return prune_checkpoint(config, checkpoint, out, **options)
    finally:
        os.chdir(cwd)


# ------------------------------------------------ tiny networks to prune
#: Tiny ResNets (8 channels at the stem), by name: the backbones the
#: pruning tests prune, and the width of their last stage.
TINY_RESNETS = {
    'resnet18-cifar': dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                           stem_channels=8, base_channels=8),
    'resnet50-cifar': dict(type='mmpretrain.ResNet_CIFAR', depth=50,
                           stem_channels=8, base_channels=8),
    'resnet18-mmdet': dict(type='mmdet.ResNet', depth=18, stem_channels=8,
                           base_channels=8, out_indices=(3, )),
}
TINY_RESNET_OUT_CHANNELS = {'resnet18-cifar': 64, 'resnet50-cifar': 256,
                            'resnet18-mmdet': 64}
#: The baseline pruners (astro_mm.pruning.BASELINE_PRUNERS).
BASELINE_METHODS = ('random', 'l1', 'bn_scale', 'taylor', 'group_norm')
#: Classes of the tiny classifiers the pruning tests build.
TINY_NUM_CLASSES = 3


def randomize_batch_norms(model: nn.Module) -> None:
    """Non-trivial batch norms (affine and statistics), as after
    training."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)


def tiny_classifier_config(name: str, backbone: dict = None) -> dict:
    """An mmpretrain classifier of the tiny ResNet ``name`` (or of
    ``backbone``, whose last stage is as wide as ``name``'s)."""
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=backbone or TINY_RESNETS[name],
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead',
                  num_classes=TINY_NUM_CLASSES,
                  in_channels=TINY_RESNET_OUT_CHANNELS[name]),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=TINY_NUM_CLASSES))


def tiny_plain_classifier(name: str, seed: int = 0) -> nn.Module:
    """A plain classifier with non-trivial batch norms, as after training."""
    torch.manual_seed(seed)
    model = MODELS.build(tiny_classifier_config(name))
    randomize_batch_norms(model)
    return model.eval()


def tiny_astronet(name: str, seed: int = 0, **algorithm_options):
    """An AstroNet algorithm over the tiny ResNet ``name`` in a W-round,
    with random P cached and non-trivial batch norms, in eval mode."""
    torch.manual_seed(seed)
    arch = dict(
        type='mmpretrain.ImageClassifier',
        backbone=TINY_RESNETS[name],
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=3,
                  in_channels=TINY_RESNET_OUT_CHANNELS[name]),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=3))
    algo = MODELS.build(dict(
        type='astro_mm.AlternatingAlgorithm', architecture=arch,
        modulator=dict(type='astro_mm.AstroNetModulator', width=4),
        warmup_rounds=0, **algorithm_options))
    randomize_batch_norms(algo.architecture)
    algo.set_round(1)  # a W-round: P cached
    probs = torch.rand(algo.cached_probs.shape)
    algo.cached_probs.copy_(probs)
    return algo.eval()


def tiny_batches(count: int = 2, size: int = 2) -> list:
    """``count`` batches of ``size`` random 32 px images, labelled."""
    generator = torch.Generator().manual_seed(1)
    return [dict(inputs=torch.rand(size, 3, 32, 32, generator=generator) *
                 255,
                 data_samples=[DataSample().set_gt_label(
                     k % TINY_NUM_CLASSES) for k in range(size)])
            for _ in range(count)]


def switch_off_removed_inner_channels(backbone: nn.Module,
                                      kept_per_block: dict) -> None:
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


# ------------------------------------------- the budget-aware mode's nets
#: Classes of the budget-aware tests' toy task (the brightest quadrant).
QUADRANT_CLASSES = 4
#: The modulators of the budget-aware tests, small.
BUDGET_MODULATORS = dict(
    manet=dict(type='astro_mm.MANetModulator', num_astrocytes=3, num_lstm=2,
               token_dim=16),
    astronet=dict(type='astro_mm.AstroNetModulator', width=4, num_iters=2),
    gates=dict(type='astro_mm.FreeLogitsModulator'))


def resnet20_architecture(depth: int = 20, width: int = 4) -> dict:
    """A narrow CIFAR ResNet classifier of 1-channel images."""
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='astro_mm.CIFARResNet', depth=depth,
                      in_channels=1, stem_channels=width,
                      base_channels=width),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead',
                  num_classes=QUADRANT_CLASSES, in_channels=4 * width),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=QUADRANT_CLASSES))


def budget_resnet20(modulator: str = 'manet', budget: dict = None,
                    seed: int = 0, init_prob: float = None,
                    modulator_cfg: dict = None, **kwargs):
    """An AlternatingAlgorithm over :func:`resnet20_architecture`, its
    modulator one of :data:`BUDGET_MODULATORS` (``modulator_cfg`` and
    ``init_prob`` over it), ``budget`` its budget (None: the paper
    mode)."""
    torch.manual_seed(seed)
    mod = dict(BUDGET_MODULATORS[modulator], **(modulator_cfg or {}))
    if init_prob is not None:
        mod['init_prob'] = init_prob
    kwargs.setdefault('warmup_rounds', 0)
    return MODELS.build(dict(type='astro_mm.AlternatingAlgorithm',
                             architecture=resnet20_architecture(),
                             modulator=mod, budget=budget, **kwargs))


def budget_optim_wrapper(algo, mnet_lr: float = 3e-3):
    """The algorithm's optimizer wrappers: SGD for the TNet, AdamW per
    astrocyte for the MNet."""
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='astro_mm.AlternatingOptimWrapperConstructor',
        optim_wrapper_cfg=dict(
            tnet=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
            mnet=dict(optimizer=dict(type='AdamW', lr=mnet_lr),
                      clip_grad=dict(max_norm=1.0)),
            per_astrocyte=True)))
    return constructor(algo)


def quadrant_batch(seed: int, size: int = 16) -> dict:
    """A learnable toy task: the class is the brightest quadrant."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, QUADRANT_CLASSES, (size, ), generator=gen)
    images = torch.rand(size, 1, 12, 12, generator=gen) * 60
    for i, label in enumerate(labels.tolist()):
        r, c = divmod(label, 2)
        images[i, :, 6 * r:6 * r + 6, 6 * c:6 * c + 6] += 150
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    return dict(inputs=list(images.to(torch.uint8)), data_samples=samples)


def removed_over_kept_cost(algo) -> float:
    """Mean cost (in the budget's measure) of the units the gates removed
    over that of the units they kept."""
    costs = torch.cat(algo.budget.kept_cost.unit_costs(algo._split))
    gates = torch.cat(algo.current_gates())
    return float(costs[gates == 0].mean() / costs[gates == 1].mean())
