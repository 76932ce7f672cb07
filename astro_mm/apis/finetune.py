"""The fine-tuning stage every structured-pruning pipeline has.

After pruning (and batch-norm recalibration) the pruned network is trained
a little more from its pruned weights, as in network slimming, ResRep and
DepGraph. The schedule is a config of its own, so ``tools/train.py`` runs
it like any training: the same data, an epoch-based loop of ``epochs``
epochs, the training config's optimizer at ``lr`` with a cosine decay to 0
(per iteration).
The same function gives the unpruned plain network the same fine-tune, so a
table compares equal schedules.
"""
import copy
from typing import Optional

from mmengine.config import Config, ConfigDict


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
