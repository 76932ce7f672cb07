"""Pieces of the converged study's schedule and network: the fine-tune
stage's learning rate decays within the epoch (a 1-epoch cosine stepped per
epoch would keep lr constant), and the stride-2 stem of its ResNet-20."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import PARAM_SCHEDULERS

from astro_mm.apis import finetune_config
from conftest import ROOT


def _lrs(scheduler_cfg, epoch_length: int, steps: int):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    cfg = copy.deepcopy(dict(scheduler_cfg))
    cfg.pop('type')
    assert cfg.pop('convert_to_iter_based')
    scheduler = PARAM_SCHEDULERS.get(scheduler_cfg['type']).build_iter_from_epoch(
        optimizer, epoch_length=epoch_length, **cfg)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    return lrs


@pytest.mark.parametrize('epochs', [1, 2])
def test_finetune_lr_decays_per_iteration_to_zero(epochs):
    cfg = Config.fromfile(
        f'{ROOT}/configs/resnet/resnet20-cifar-s2_1xb128-4e_fashion-mnist.py')
    tuned = finetune_config(cfg, epochs=epochs, lr=0.01, load_from='x.pth')
    assert tuned.optim_wrapper.optimizer.lr == 0.01
    assert tuned.train_cfg.max_epochs == epochs
    (scheduler, ) = tuned.param_scheduler
    lrs = _lrs(scheduler, epoch_length=10, steps=10 * epochs)
    assert lrs[0] == pytest.approx(1.0)
    assert all(b < a for a, b in zip(lrs, lrs[1:]))  # every iteration
    assert lrs[-1] < 0.05  # near 0 at the end, not at lr / 2


def test_study_config_decays_per_iteration():
    cfg = Config.fromfile(
        f'{ROOT}/configs/resnet/resnet20-cifar-s2_1xb128-4e_fashion-mnist.py')
    cosine = cfg.param_scheduler[1]
    lrs = _lrs(dict(cosine, begin=0, end=cosine.T_max), epoch_length=10,
               steps=10 * cosine.T_max)
    assert lrs[15] < lrs[11] and lrs[-1] < 0.01


def test_stem_stride_halves_every_stage_and_keeps_the_parameters():
    from astro_mm.models.backbones import CIFARResNet
    cifar = CIFARResNet(depth=20, in_channels=1)
    study = CIFARResNet(depth=20, in_channels=1, stem_stride=2)
    assert sum(p.numel() for p in cifar.parameters()) == \
        sum(p.numel() for p in study.parameters())
    x = torch.randn(2, 1, 28, 28)
    assert cifar(x)[-1].shape == (2, 64, 7, 7)
    assert study(x)[-1].shape == (2, 64, 4, 4)
    with pytest.raises(ValueError, match='stem_stride must be 1 or 2'):
        CIFARResNet(depth=20, stem_stride=3)
