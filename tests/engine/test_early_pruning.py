"""The prune-early control (issue 25, "Equal time in the pruned shape"):
astro_mm.EarlyPruningHook prunes a plain network at iteration k of its own
training and holds the removed channels exactly dead from then on, also
across resumes; tools/prune.py --method early removes them without changing
what the network computes."""
import argparse
import os.path as osp

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

import astro_mm  # noqa: F401
from astro_mm.apis import prune_checkpoint
from astro_mm.families import resolve_family
from astro_mm.compat import load_checkpoint_file
from astro_mm.engine.hooks import EarlyPruningHook, early_pruning_hook
from astro_mm.pruning import DeadChannels, prune_to_kept
from astro_mm.pruning.report import flops
from astro_mm.registry import MODELS
from conftest import ROOT

CONFIG = osp.join(ROOT, 'configs/prune_early/prune-early_resnet20-cifar-s2_'
                  '1xb128-amp-5e_fashion-mnist-holdout5k.py')
NUM_CLASSES = 4
SIZE = 12
K = 3  # the prune: after the third optimizer step
ITERS = 6
BUDGET = 0.5


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.set_num_threads(1)
        yield


class Quadrants(Dataset):
    """A learnable toy task: the class is the brightest quadrant."""

    def __init__(self, count=32, size=SIZE):
        gen = torch.Generator().manual_seed(0)
        self.labels = torch.randint(0, NUM_CLASSES, (count, ), generator=gen)
        self.images = torch.rand(count, 1, size, size, generator=gen) * 60
        half = size // 2
        for i, label in enumerate(self.labels.tolist()):
            r, c = divmod(label, 2)
            self.images[i, :, half * r:half * (r + 1),
                        half * c:half * (c + 1)] += 150

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return dict(inputs=self.images[index].to(torch.uint8),
                    data_samples=DataSample().set_gt_label(
                        int(self.labels[index])))


def _model_cfg(width=4):
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='astro_mm.CIFARResNet', depth=20, in_channels=1,
                      stem_channels=width, base_channels=width),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=NUM_CLASSES,
                  in_channels=4 * width),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=NUM_CLASSES))


class Snapshots(Hook):
    """After every step (and after EarlyPruningHook, before the checkpoint
    hook): the parameters and momentum buffers, and whether the hook has
    pruned."""
    priority = 'LOW'

    def __init__(self, early):
        self.early, self.params, self.momentum, self.pruned = early, [], [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        model = runner.model
        optimizer = runner.optim_wrapper.optimizer
        self.params.append({n: p.detach().clone()
                            for n, p in model.named_parameters()})
        self.momentum.append({
            n: optimizer.state[p]['momentum_buffer'].clone()
            for n, p in model.named_parameters() if p in optimizer.state})
        self.pruned.append(self.early.kept is not None)


def _runner(work_dir, hook, max_iters=ITERS, resume_from=None,
            model=None, size=SIZE, extra_hooks=()):
    return Runner(
        model=model or _model_cfg(),
        work_dir=str(work_dir),
        experiment_name=osp.basename(str(work_dir)),
        train_dataloader=dict(
            dataset=Quadrants(size=size), batch_size=8, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9,
                                          weight_decay=5e-4)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        custom_hooks=[hook, *extra_hooks],
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1,
                            by_epoch=False),
            logger=dict(type='LoggerHook', interval=100)),
        load_from=resume_from, resume=resume_from is not None,
        randomness=dict(seed=0), default_scope='mmpretrain')


def _hook(**kwargs):
    settings = dict(iteration=K, method='l1', budget=BUDGET,
                    measure='params', input_size=SIZE)
    settings.update(kwargs)
    return EarlyPruningHook(**settings)


def _removed(model, kept):
    """(name, dim, removed indices) of every slice that carries a removed
    channel."""
    names = {id(p): n for n, p in model.named_parameters()}
    return [(names[id(p)], d, i)
            for p, d, i in DeadChannels(model, kept, (SIZE, SIZE),
                                        plan=resolve_family(model.backbone, strict=True)).slices]


def _largest(tensors, slices):
    return max(float(tensors[n].index_select(d, i).abs().max())
               for n, d, i in slices)


def _equal_kept(a, b):
    return a.keys() == b.keys() and all(
        len(a[k]) == len(b[k]) and all(torch.equal(x, y)
                                       for x, y in zip(a[k], b[k]))
        for k in a)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Run A: k = 3 of 6 iterations, a checkpoint after every one."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.set_num_threads(1)
        work_dir = tmp_path_factory.mktemp('early_a')
        hook = _hook()
        snapshots = Snapshots(hook)
        runner = _runner(work_dir, hook, extra_hooks=[snapshots])
        runner.train()
    return runner, hook, snapshots, work_dir


def test_channels_die_at_k_and_stay_dead_while_kept_ones_train(trained):
    runner, hook, snaps, _ = trained
    assert snaps.pruned == [False] * (K - 1) + [True] * (ITERS - K + 1)
    assert hook.pruned_at == K
    assert BUDGET - 0.01 <= hook.reached['params'] <= BUDGET
    removed = _removed(runner.model, hook.kept)
    # before k nothing is masked: the channels the prune removes are live
    assert _largest(snaps.params[K - 2], removed) > 1e-3
    assert _largest(snaps.momentum[K - 2], removed) > 1e-6
    for step in range(K - 1, ITERS):  # after steps k .. 6: exactly dead
        assert _largest(snaps.params[step], removed) == 0
        assert _largest(snaps.momentum[step], removed) == 0
    # every inner conv's kept filters go on training after the prune
    for name, _, drop in removed:
        if name.endswith('conv1.weight'):
            live = [c for c in range(snaps.params[-1][name].shape[0])
                    if c not in drop.tolist()]
            change = (snaps.params[-1][name][live] -
                      snaps.params[K - 1][name][live]).abs().amax(
                          dim=(1, 2, 3))
            assert change.min() > 1e-5, name
    # no gradient hook is left on the model after training
    assert all(not p._backward_hooks for p in runner.model.parameters()
               if p._backward_hooks is not None)


def test_physical_prune_computes_the_masked_network(trained):
    runner, hook, _, _ = trained
    model = runner.model.eval()
    result = prune_to_kept(model, hook.kept, (SIZE, SIZE), require_dead=True,
                           plan=resolve_family(model.backbone, strict=True))
    inputs = torch.rand(5, 1, SIZE, SIZE) * 2 - 1
    with torch.no_grad():
        expected = model(inputs, mode='tensor')
        got = result.model(inputs, mode='tensor')
    assert (got - expected).abs().max() < 1e-5
    ratio = result.params_after / result.params_before
    assert BUDGET - 0.01 <= ratio <= BUDGET
    assert result.params_ratio == ratio == hook.reached['params']
    assert result.flops_ratio == pytest.approx(
        flops(result.model.backbone, SIZE, 1) / flops(model.backbone, SIZE,
                                                      1))
    assert result.widths == {block: [len(idxs) for idxs in slots]
                             for block, slots in hook.kept.items()}
    # a model whose removed channels are live is refused, the layer named
    revived = MODELS.build(_model_cfg())
    revived.load_state_dict(model.state_dict())
    block, slots = next(iter(hook.kept.items()))
    with torch.no_grad():
        revived.backbone.get_submodule(block).bn1.weight.fill_(1.)
    with pytest.raises(ValueError, match=rf'{block}\.bn1\.weight'):
        prune_to_kept(revived, hook.kept, (SIZE, SIZE), require_dead=True,
                      plan=resolve_family(revived.backbone, strict=True))


def test_held_gradients_are_zero_in_removed_channels(trained):
    """On a live network (nothing zeroed yet, so the removed channels do
    get gradients), hold_gradients zeroes exactly the removed slices;
    release restores the plain gradients."""
    _, hook, _, _ = trained
    torch.manual_seed(0)
    model = MODELS.build(_model_cfg())
    dead = DeadChannels(model, hook.kept, (SIZE, SIZE),
                        plan=resolve_family(model.backbone, strict=True))
    batch = model.data_preprocessor(
        {'inputs': [Quadrants()[i]['inputs'] for i in range(8)],
         'data_samples': [Quadrants()[i]['data_samples'] for i in range(8)]},
        True)

    def gradients():
        model.zero_grad()
        loss, _ = model.parse_losses(model(**batch, mode='loss'))
        loss.backward()
        return {id(p): p.grad.clone() for p in model.parameters()}

    dead.hold_gradients()
    held = gradients()
    dead.release()
    plain = gradients()
    for param, dim, idxs in dead.slices:
        assert held[id(param)].index_select(dim, idxs).abs().max() == 0
        assert plain[id(param)].index_select(dim, idxs).abs().max() > 0
        kept = torch.ones(param.shape[dim], dtype=torch.bool)
        kept[idxs] = False
        assert torch.equal(held[id(param)].transpose(0, dim)[kept],
                           plain[id(param)].transpose(0, dim)[kept])


def _count_prunes(monkeypatch):
    calls = []
    real = early_pruning_hook.prune_baseline

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(early_pruning_hook, 'prune_baseline', counting)
    return calls


def test_resumed_after_k_keeps_the_masks(trained, tmp_path, monkeypatch):
    runner_a, hook_a, snaps_a, work_a = trained
    ckpt = str(work_a / 'iter_4.pth')
    meta = load_checkpoint_file(ckpt, map_location='cpu')['meta']
    assert meta['early_pruning']['pruned_at'] == K
    assert _equal_kept(meta['early_pruning']['kept'], hook_a.kept)
    calls = _count_prunes(monkeypatch)
    hook = _hook()
    snaps = Snapshots(hook)
    runner = _runner(tmp_path / 'b', hook, resume_from=ckpt,
                     extra_hooks=[snaps])
    runner.train()
    assert calls == []  # adopted, not pruned again
    assert hook.pruned_at == K and _equal_kept(hook.kept, hook_a.kept)
    removed = _removed(runner.model, hook.kept)
    assert len(snaps.params) == ITERS - 4
    for params, momentum in zip(snaps.params, snaps.momentum):
        assert _largest(params, removed) == 0
        assert _largest(momentum, removed) == 0
    # the resumed steps are run A's steps
    for name, value in snaps.params[-1].items():
        assert torch.allclose(value, snaps_a.params[-1][name], atol=1e-6)


def test_resumed_before_k_prunes_at_k(trained, tmp_path, monkeypatch):
    _, hook_a, _, work_a = trained
    ckpt = str(work_a / f'iter_{K - 1}.pth')
    assert load_checkpoint_file(ckpt, map_location='cpu')['meta'][
        'early_pruning']['kept'] is None
    calls = _count_prunes(monkeypatch)
    hook = _hook()
    snaps = Snapshots(hook)
    _runner(tmp_path / 'c', hook, resume_from=ckpt,
            extra_hooks=[snaps]).train()
    assert calls == ['l1']
    assert snaps.pruned == [True] * (ITERS - K + 1)
    assert hook.pruned_at == K and _equal_kept(hook.kept, hook_a.kept)


def test_a_resume_that_cannot_keep_the_masks_is_refused(trained, tmp_path):
    _, _, _, work_a = trained
    ckpt = str(work_a / 'iter_4.pth')
    with pytest.raises(ValueError, match="'method': \\('l1', 'random'\\)"):
        _runner(tmp_path / 'd', _hook(method='random'),
                resume_from=ckpt).train()
    checkpoint = load_checkpoint_file(ckpt, map_location='cpu')
    del checkpoint['meta']['early_pruning']
    torch.save(checkpoint, tmp_path / 'bare.pth')
    with pytest.raises(RuntimeError, match='past the prune at 3'):
        _runner(tmp_path / 'e', _hook(),
                resume_from=str(tmp_path / 'bare.pth')).train()


@pytest.mark.parametrize('kwargs, error', [
    (dict(method='l2'), KeyError), (dict(budget=1.5), ValueError),
    (dict(measure='macs'), ValueError), (dict(rank='mean'), ValueError),
    (dict(iteration=-1), ValueError)])
def test_bad_settings_are_refused(kwargs, error):
    with pytest.raises(error):
        _hook(**kwargs)


def test_suite_overrides_reach_the_hook():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    options = parser.parse_args([
        '--cfg-options', 'custom_hooks.0.method=taylor',
        'custom_hooks.0.budget=0.4', 'custom_hooks.0.measure=params',
        'custom_hooks.0.rank=None', 'custom_hooks.0.seed=2']).cfg_options
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(options)
    assert cfg.custom_hooks[0] == dict(
        type='astro_mm.EarlyPruningHook', iteration=100, method='taylor',
        budget=0.4, measure='params', rank=None, seed=2, input_size=28)


def test_prune_tool_removes_the_dead_channels(tmp_path):
    """The study's config and network (ResNet-20, 28 px, FLOPs budget):
    trained 3 steps, taylor at step 2; tools/prune.py --method early gives
    the network the masked one computes, at the budget, and a fine-tune
    config without the hook."""
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict({'custom_hooks.0.iteration': 2,
                         'custom_hooks.0.method': 'taylor',
                         'custom_hooks.0.num_batches': 1})
    settings = dict(cfg.custom_hooks[0])
    settings.pop('type')
    hook = EarlyPruningHook(**settings)
    runner = _runner(tmp_path / 'work', hook, max_iters=3,
                     model=cfg.model.to_dict(), size=28)
    runner.train()
    out = str(tmp_path / 'pruned.pth')
    report = prune_checkpoint(
        CONFIG, str(tmp_path / 'work' / 'iter_3.pth'), out, method='early',
        recalibrate_batches=0, latency_repeats=1, input_size=28)
    assert report['early_pruning']['method'] == 'taylor'
    assert report['method'] == 'early' and report['measure'] == 'flops'
    # the prune the hook logged is the one the tool made
    assert report['early_pruning']['reached']['flops'] == pytest.approx(
        report['flops_ratio'])
    pruned_cfg = Config.fromfile(out[:-len('.pth')] + '.py')
    assert not [h for h in pruned_cfg.custom_hooks
                if 'EarlyPruning' in str(h.get('type'))]
    pruned = MODELS.build(pruned_cfg.model)
    pruned.load_state_dict(load_checkpoint_file(out)['state_dict'])
    masked = runner.model.eval()
    inputs = torch.rand(3, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        difference = (pruned.eval()(inputs, mode='tensor') -
                      masked(inputs, mode='tensor')).abs().max()
    assert difference < 1e-5
    kept = flops(pruned.backbone, 28, 1) / flops(masked.backbone, 28, 1)
    assert 0.59 <= kept <= 0.6
