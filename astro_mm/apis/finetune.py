"""The fine-tuning stage every structured-pruning pipeline has.

After pruning (and batch-norm recalibration) the pruned network is trained
a little more from its pruned weights, as in network slimming, ResRep and
DepGraph. The schedule is a config of its own, so ``tools/train.py`` runs
it like any training: the same data, an epoch-based loop of ``epochs``
epochs, the training config's optimizer at ``lr`` with a cosine decay to 0
(per iteration).
The same function gives the unpruned plain network the same fine-tune, so a
table compares equal schedules. :func:`pruned_config` is the whole config
``tools/prune.py`` writes next to a pruned checkpoint: the plain classifier
with the pruned backbone, its fine-tune.
"""
import copy
from typing import Optional

from mmengine.config import Config, ConfigDict

from astro_mm.engine.optimizers.alternating_constructor import WRAPPER_KEYS
from astro_mm.pruning import sync_neck_widths
from astro_mm.registry import HOOKS

from .model_loading import classifier_config


def finetune_config(cfg: Config,
                    epochs: Optional[int] = None,
                    lr: Optional[float] = None,
                    load_from: Optional[str] = None) -> Config:
    """``cfg`` turned into the fine-tuning of the weights in ``load_from``.

    Args:
        cfg (Config): A plain classifier config (its optimizer is a single
            ``optim_wrapper``).
        epochs (int, optional): Fine-tune epochs; None keeps the config's
            schedule.
        lr (float, optional): Starting learning rate; None keeps the
            config's.
        load_from (str, optional): The weights to start from.

    Raises:
        ValueError: ``epochs`` < 1 or ``lr`` <= 0.
    """
    out = copy.deepcopy(cfg)
    if load_from is not None:
        out.load_from = load_from
    out.resume = False
    if lr is not None:
        if lr <= 0:
            raise ValueError(f'fine-tune lr must be > 0, got {lr}')
        out.optim_wrapper.optimizer.lr = lr
    if epochs is not None:
        if epochs < 1:
            raise ValueError(f'fine-tune epochs must be >= 1, got {epochs}')
        out.train_cfg = ConfigDict(type='EpochBasedTrainLoop',
                                   max_epochs=epochs, val_interval=epochs)
        sampler = out.train_dataloader.get('sampler', {})
        if 'Infinite' in str(sampler.get('type', '')):  # epochs must end
            out.train_dataloader.sampler = ConfigDict(type='DefaultSampler',
                                                      shuffle=True)
        # per iteration: stepped per epoch, a 1-epoch cosine would keep lr
        # constant and a 2-epoch one end at lr / 2
        out.param_scheduler = [ConfigDict(
            type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs,
            T_max=epochs, eta_min=0., convert_to_iter_based=True)]
        if out.get('default_hooks', {}).get('checkpoint') is not None:
            out.default_hooks.checkpoint.update(by_epoch=True,
                                                interval=epochs)
        if out.get('log_processor') is not None:
            out.log_processor.by_epoch = True
    return out


def dropped_from_pruned_config(hook_cfg) -> bool:
    """Whether a training hook stays out of the pruned network's config.

    The hooks of Algorithm 1 (rounds, P history) need the alternating
    algorithm, which the pruned config has not; others
    (astro_mm.EarlyPruningHook, the sparse-training penalty) act on the
    unpruned network only.
    """
    hook_type = hook_cfg.get('type')
    hook_cls = hook_type if isinstance(hook_type, type) else \
        HOOKS.get(hook_type)
    return bool(getattr(hook_cls, 'needs_alternating_algorithm', False) or
                # hooks that act on the unpruned network (EarlyPruningHook)
                getattr(hook_cls, 'drop_from_pruned_config', False))


def pruned_config(cfg: Config, widths: dict, checkpoint: str,
                  finetune_epochs: Optional[int] = None,
                  finetune_lr: Optional[float] = None,
                  stage_widths: Optional[dict] = None) -> Config:
    """The plain classifier config with the pruned backbone: what
    ``tools/train.py`` fine-tunes and ``tools/test.py`` evaluates.

    Args:
        cfg (Config): The config the unpruned network trained with (an
            astro config or a plain one).
        widths (dict): The pruned inner widths (``PruneResult.widths``).
        checkpoint (str): The pruned checkpoint, the fine-tune's
            ``load_from``.
        finetune_epochs (int, optional): See :func:`finetune_config`.
        finetune_lr (float, optional): See :func:`finetune_config`.
        stage_widths (dict, optional): A coupled prune's stage widths; they
            go inline too, and the neck or head reads the last one.
    """
    arch = copy.deepcopy(classifier_config(cfg))
    arch.backbone = ConfigDict(type='astro_mm.PrunedBackbone',
                               base=arch.backbone, widths=widths)
    if stage_widths:
        arch.backbone.stage_widths = dict(stage_widths)
        sync_neck_widths(arch, cfg.get('default_scope'))
    out = copy.deepcopy(cfg)
    out.model = arch
    # hooks of Algorithm 1 (rounds, P history) have no algorithm to act on
    out.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                        if not dropped_from_pruned_config(h)]
    out.pop('model_wrapper_cfg', None)
    if 'tnet' in cfg.optim_wrapper:
        # the TNet's wrapper as AlternatingOptimWrapperConstructor builds
        # it: its own settings over the shared ones (e.g. --amp's type and
        # dtype), so the fine-tune runs in the training's precision
        tnet = dict(cfg.optim_wrapper.tnet)
        wrapper = {key: tnet.get(key, cfg.optim_wrapper.get(key))
                   for key in WRAPPER_KEYS
                   if key in tnet or key in cfg.optim_wrapper}
        wrapper.setdefault('type', 'OptimWrapper')
        out.optim_wrapper = ConfigDict(wrapper, optimizer=tnet['optimizer'])
        if 'clip_grad' in tnet:
            out.optim_wrapper.clip_grad = tnet['clip_grad']
    return finetune_config(out, finetune_epochs, finetune_lr, checkpoint)
