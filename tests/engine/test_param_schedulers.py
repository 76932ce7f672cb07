"""ProportionalMultiStepLR puts its steps at fractions of the run, also when
the runner supplies its ``end`` from ``train_cfg.max_iters``; it refuses an
unplaceable schedule with the key named."""
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from astro_mm.engine import ProportionalMultiStepLR


def wrapper(lr=1.0):
    return OptimWrapper(torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=lr))


def lrs(optim_wrapper, scheduler, steps):
    values = []
    for _ in range(steps):
        values.append(optim_wrapper.get_lr()['lr'][0])
        scheduler.step()
    return values


def test_milestones_are_fractions_of_the_span():
    optim_wrapper = wrapper()
    scheduler = ProportionalMultiStepLR(
        optim_wrapper, milestone_ratios=[0.5, 0.8], begin=0, end=10,
        by_epoch=False, gamma=0.1)
    assert lrs(optim_wrapper, scheduler, 10) == pytest.approx(
        [1.0] * 5 + [0.1] * 3 + [0.01] * 2)


def test_milestones_count_from_begin():
    optim_wrapper = wrapper()
    scheduler = ProportionalMultiStepLR(
        optim_wrapper, milestone_ratios=[0.5], begin=4, end=8,
        by_epoch=False)
    assert lrs(optim_wrapper, scheduler, 8) == pytest.approx(
        [1.0] * 6 + [0.1] * 2)


@pytest.mark.parametrize('ratios', [[], [0.0], [1.0], [0.8, 0.5]])
def test_bad_ratios_are_refused(ratios):
    with pytest.raises(ValueError, match='milestone_ratios'):
        ProportionalMultiStepLR(wrapper(), milestone_ratios=ratios, end=10)


def test_an_endless_schedule_is_refused():
    with pytest.raises(ValueError, match='finite `end`'):
        ProportionalMultiStepLR(wrapper(), milestone_ratios=[0.8])


class Points(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return torch.ones(1)


class Line(nn.Module):
    """A one-weight model in mmengine's train_step interface."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def train_step(self, data, optim_wrapper):
        loss = self.linear(torch.stack(data)).pow(2).mean()
        optim_wrapper.update_params(loss)
        return dict(loss=loss)


def test_the_runner_places_the_steps_by_max_iters(tmp_path):
    """No ``end`` in the config: the runner's default (max_iters = 20) puts
    the 0.8 step at iteration 16, as a length override would move it."""
    seen = []

    class LrRecorder(Hook):

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            seen.append(runner.optim_wrapper.get_lr()['lr'][0])

    runner = Runner(
        model=Line(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=Points(), batch_size=2,
            sampler=dict(type='InfiniteSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=1.0)),
        param_scheduler=[dict(type='astro_mm.ProportionalMultiStepLR',
                              by_epoch=False, milestone_ratios=[0.8])],
        train_cfg=dict(by_epoch=False, max_iters=20),
        custom_hooks=[LrRecorder()],
        default_hooks=dict(checkpoint=None, logger=None),
        default_scope='mmengine')
    runner.train()
    assert seen == pytest.approx([1.0] * 16 + [0.1] * 4)
