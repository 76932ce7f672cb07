"""Sparse training, the published form of network slimming and of DepGraph's
group sparsity: Torch-Pruning's own regularizers, applied during training.

The one-shot baselines (:mod:`astro_mm.pruning.baselines`) score a
network trained without any sparsity term. Network slimming (Liu et al.
2017) and DepGraph's group-norm pruning (Fang et al. 2023) are defined
with one: the network is first trained with a penalty that drives the
channels it will prune towards zero, then pruned by the matching
importance (``bn_scale``, ``group_norm``) and fine-tuned. This hook is that
training.
"""
import math
from typing import List, Optional, Sequence

import torch
import torch_pruning as tp
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from astro_mm.families import resolve_family
from astro_mm.pruning.baselines import baseline_pruner
from astro_mm.pruning.coupled import build_graph, example_inputs
from astro_mm.registry import HOOKS

# regularizer -> (Torch-Pruning pruner whose ``regularize`` it is, the
# baseline pruner that prunes the trained network)
REGULARIZERS = {
    'bn_scale': (tp.pruner.BNScalePruner, 'bn_scale'),
    'group_norm': (tp.pruner.GroupNormPruner, 'group_norm'),
}
_LAYERS = (nn.modules.conv._ConvNd, nn.Linear, _BatchNorm)


def sparse_training_pruner(backbone: nn.Module, regularizer: str,
                           reg: float,
                           input_size: Sequence[int] = (32, 32)):
    """Torch-Pruning's pruner whose ``regularize`` is ``regularizer``,
    scoped to the inner channels of ``backbone``'s residual blocks.

    The scope is the baselines' (the family's inner channel groups: each
    inner conv, its norm, the next conv's inputs). It
    is given to Torch-Pruning as ``ignored_layers``: every conv, linear and
    batch norm that is not an output of an inner group. The pruner then
    builds only the inner groups (``DependencyGraph.get_all_groups`` skips
    a group with an ignored output), which ``GroupNormPruner.regularize``
    iterates, and ``BNScalePruner.regularize`` skips the ignored norms
    (block outputs, shortcuts, stem).

    Args:
        backbone (nn.Module): A plain ResNet backbone (the training's
            modules: the pruner holds references to them, it copies
            nothing).
        regularizer (str): ``'bn_scale'`` or ``'group_norm'``.
        reg (float): The coefficient.
        input_size (Sequence[int]): (H, W) of the example image traced.

    Returns:
        tuple: (the Torch-Pruning pruner, the regularized norms, the
        parameters in scope).

    Raises:
        ValueError: Unknown regularizer, a non-positive coefficient, a
            backbone that is not a ResNet, or a scope Torch-Pruning does
            not reproduce.
    """
    if regularizer not in REGULARIZERS:
        raise ValueError(f'SparseTrainingHook: regularizer must be one of '
                         f'{tuple(REGULARIZERS)}, got {regularizer!r}')
    if not (isinstance(reg, (int, float)) and math.isfinite(reg) and
            reg > 0):
        raise ValueError(f'SparseTrainingHook: reg must be a positive '
                         f'number, got {reg!r}')
    plan = resolve_family(backbone)
    plan.require_coupled('sparse training')
    pruner_cls, method = REGULARIZERS[regularizer]
    was_training = backbone.training
    try:
        example = example_inputs(backbone, input_size)
        groups = plan.channel_groups(build_graph(backbone, example),
                                     what='sparse training')
        outputs = {id(m) for g in groups for m in g.out_gated}
        ignored = [m for m in backbone.modules()
                   if isinstance(m, _LAYERS) and id(m) not in outputs]
        with torch.enable_grad():
            # Torch-Pruning traces in eval mode (no running statistics
            # move) and leaves the model there
            pruner = pruner_cls(backbone, example,
                                importance=baseline_pruner(method).build(),
                                reg=reg, ignored_layers=ignored)
    finally:
        backbone.train(was_training)
    norms = [m for g in groups for m in g.out_gated
             if isinstance(m, _BatchNorm)]
    roots = {id(g.conv) for g in groups}
    traced = getattr(pruner, '_groups', None)
    if traced is None or {id(group[0].dep.target.module)
                          for group in traced} != roots:
        raise ValueError(
            f'SparseTrainingHook: Torch-Pruning {tp.__version__} does not '
            'scope its regularizer to the inner groups as expected (its '
            'groups are rooted elsewhere); pin Torch-Pruning 1.6.1')
    scoped = [p for g in groups for m in (*g.out_gated, *g.in_gated)
              for p in m.parameters(recurse=False)]
    return pruner, norms, scoped


@HOOKS.register_module()
class SparseTrainingHook(Hook):
    """Add Torch-Pruning's sparsity regularizer to every optimizer step.

    * ``regularizer='bn_scale'``: ``BNScalePruner.regularize``, the L1
      subgradient ``reg * sign(gamma)`` on the scale of every batch norm in
      scope: network slimming (Liu et al. 2017; the paper's lambda is
      ``reg``, 1e-5 to 1e-4). Prune with the ``bn_scale`` baseline.
    * ``regularizer='group_norm'``: ``GroupNormPruner.regularize``,
      DepGraph's group sparsity (Fang et al. 2023): every weight of a
      channel's group (the conv's filter, its norm's scale, the next conv's
      input slice) gets ``reg * gamma_c * w`` with ``gamma_c`` in
      [1, 16], larger for channels whose group norm is smaller, so the
      weak channels are pushed to zero as whole groups. Prune with the
      ``group_norm`` baseline.

    Both act on the channels the baselines prune, and only there: the inner
    channels of residual blocks (:func:`sparse_training_pruner`); the stem,
    block outputs, shortcuts and head get no regularization gradient.

    When: between backward and the optimizer's update, where Torch-Pruning's
    own training loops call ``regularize``. mmengine's hooks offer no point
    there (``after_train_iter`` comes after ``optim_wrapper.update_params``
    has stepped), so the hook registers, in ``before_train``, a
    ``torch.optim.Optimizer.register_step_pre_hook`` on the optimizer that
    holds the regularized parameters. That is wrapper-agnostic: it runs
    inside ``optimizer.step()`` under mmengine's ``OptimWrapper``,
    astro_mm's ``AutocastOptimWrapper`` (the penalty is computed on the
    float32 parameters and gradients, outside the bfloat16 autocast of the
    forward) and ``AmpOptimWrapper`` alike (its ``GradScaler`` unscales the
    gradients before it calls ``step``, and skips ``step``, hence the
    penalty, on an overflow); with gradient accumulation it runs once per
    update, and after gradient clipping, so a clip bounds the task gradient
    only; with data parallelism it runs after the all-reduce on identical
    weights, so the replicas stay identical. A custom OptimWrapper subclass
    would do the same but cannot be combined with the autocast one.

    Resume: the penalty is a function of the current weights and ``reg``
    alone (``BNScalePruner`` keeps no state, ``GroupNormPruner``'s step
    counter is unused by ``regularize``); ``before_train`` runs after the
    checkpoint is loaded, in place, into the same modules the pruner
    references, so a resumed run regularizes exactly as an uninterrupted
    one. The settings go into every checkpoint's ``meta.sparse_training``,
    for provenance.

    Args:
        regularizer (str): ``'bn_scale'`` (network slimming) or
            ``'group_norm'`` (DepGraph group sparsity).
        reg (float): The coefficient (config key ``custom_hooks.<i>.reg``).
        input_size (int | Sequence[int]): (H, W) of the example image
            Torch-Pruning traces the backbone with (any size the backbone
            takes; it changes nothing but the trace).

    Raises:
        ValueError: Unknown regularizer or a non-positive ``reg``; at
            ``before_train``, a model that is no plain ResNet classifier,
            or the regularized parameters in no optimizer or in several.
    """
    priority = 'NORMAL'
    # the fine-tune of the pruned network trains without the penalty (as
    # the papers fine-tune): tools/prune.py leaves the hook out of the
    # config it writes
    drop_from_pruned_config = True

    def __init__(self, regularizer: str = 'bn_scale', reg: float = 1e-5,
                 input_size=(32, 32)):
        if regularizer not in REGULARIZERS:
            raise ValueError(f'SparseTrainingHook: regularizer must be one '
                             f'of {tuple(REGULARIZERS)}, got {regularizer!r}')
        if not (isinstance(reg, (int, float)) and math.isfinite(reg) and
                reg > 0):
            raise ValueError(f'SparseTrainingHook: reg must be a positive '
                             f'number, got {reg!r}')
        self.regularizer = regularizer
        self.reg = float(reg)
        self.input_size = tuple(input_size) if isinstance(
            input_size, (list, tuple)) else (input_size, input_size)
        self.pruner = None
        self.backbone: Optional[nn.Module] = None
        self.norms: List[nn.Module] = []
        self.scoped: List[nn.Parameter] = []
        self._handles = []

    @staticmethod
    def _backbone(runner) -> nn.Module:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        if hasattr(model, 'architecture'):
            raise ValueError(
                'SparseTrainingHook trains plain networks (slimming, group '
                f'sparsity); got an astro {type(model).__name__}, whose '
                'modulation Torch-Pruning does not see')
        if not hasattr(model, 'backbone'):
            raise ValueError(f'SparseTrainingHook: {type(model).__name__} '
                             'has no backbone (an mmpretrain ImageClassifier '
                             'with a ResNet backbone is expected)')
        return model.backbone

    def before_train(self, runner) -> None:
        self.remove()
        self.backbone = self._backbone(runner)
        self.pruner, self.norms, self.scoped = sparse_training_pruner(
            self.backbone, self.regularizer, self.reg, self.input_size)
        wrapper = runner.optim_wrapper
        wrappers = dict(wrapper.items()) if isinstance(
            wrapper, OptimWrapperDict) else {'optim_wrapper': wrapper}
        scoped = {id(p) for p in self.scoped}
        owners = [name for name, w in wrappers.items()
                  if any(id(p) in scoped for group in w.optimizer.param_groups
                         for p in group['params'])]
        if len(owners) != 1:
            raise ValueError(
                'SparseTrainingHook: the regularized parameters (inner '
                f'channels) must be updated by exactly one optimizer; found '
                f'{owners or "none"} among {list(wrappers)}')
        optimizer = wrappers[owners[0]].optimizer
        self._handles.append(
            optimizer.register_step_pre_hook(self._regularize))

    def _regularize(self, optimizer, args, kwargs) -> None:
        """The step pre-hook: add the penalty's gradient in place."""
        with torch.no_grad():
            self.pruner.regularize(self.backbone)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['sparse_training'] = dict(
            regularizer=self.regularizer, reg=self.reg)

    def remove(self) -> None:
        """Unregister the step pre-hook (a no-op when none is)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def after_train(self, runner) -> None:
        self.remove()
