"""SparseTrainingHook: Torch-Pruning's slimming / group-sparsity
regularizers during training, on the baselines' scope only, under the plain
and the autocast optimizer wrappers, across a resume; and its configs."""
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

import astro_mm  # noqa: F401
from astro_mm.apis import dropped_from_pruned_config
from astro_mm.compat import load_checkpoint_file
from astro_mm.engine.hooks import SparseTrainingHook
from astro_mm.engine.optimizers import AutocastOptimWrapper
from astro_mm.families import resolve_family
from astro_mm.pruning.coupled import build_graph, example_inputs
from astro_mm.registry import HOOKS, MODELS
from conftest import ROOT

NUM_CLASSES = 4
SIZE = 12
WIDTH = 4


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.set_num_threads(1)
        yield


class Quadrants(Dataset):
    """A learnable toy task: the class is the brightest quadrant."""

    def __init__(self, count=32):
        gen = torch.Generator().manual_seed(0)
        self.labels = torch.randint(0, NUM_CLASSES, (count, ), generator=gen)
        self.images = torch.rand(count, 1, SIZE, SIZE, generator=gen) * 60
        half = SIZE // 2
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


def _model_cfg():
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='astro_mm.CIFARResNet', depth=20, in_channels=1,
                      stem_channels=WIDTH, base_channels=WIDTH),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=NUM_CLASSES,
                  in_channels=4 * WIDTH),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=NUM_CLASSES))


def _model():
    torch.manual_seed(0)
    return MODELS.build(_model_cfg()).train()


def _batch(model, step, size=8):
    data = Quadrants()
    idx = torch.arange(step * size, (step + 1) * size) % len(data)
    batch = dict(inputs=[data[int(i)]['inputs'] for i in idx],
                 data_samples=[data[int(i)]['data_samples'] for i in idx])
    return model.data_preprocessor(batch, True)


def _wrapper(model, kind='plain'):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    if kind == 'plain':
        return OptimWrapper(optimizer)
    # bfloat16 autocast even where the CPU would emulate it: the penalty
    # must be right under the study's wrapper
    return AutocastOptimWrapper(optimizer=optimizer, dtype='bfloat16',
                                float32_if_emulated=False)


def _attach(model, wrapper, regularizer, reg):
    hook = SparseTrainingHook(regularizer=regularizer, reg=reg,
                              input_size=SIZE)
    hook.before_train(SimpleNamespace(model=model, optim_wrapper=wrapper))
    return hook


def _train(regularizer=None, reg=0., steps=15, kind='plain'):
    model = _model()
    wrapper = _wrapper(model, kind)
    if regularizer:
        _attach(model, wrapper, regularizer, reg)
    for step in range(steps):
        batch = _batch(model, step)
        with wrapper.optim_context(model):
            losses = model(**batch, mode='loss')
        loss, _ = model.parse_losses(losses)
        wrapper.update_params(loss)
    return model


def _scope(model):
    """The baselines' inner groups of ``model``'s backbone."""
    backbone = model.backbone
    was_training = backbone.training
    groups = resolve_family(backbone).channel_groups(
        build_graph(backbone, example_inputs(backbone, (SIZE, SIZE))))
    backbone.train(was_training)
    return groups


def _inner_scales(model):
    return torch.cat([m.weight.detach().abs() for g in _scope(model)
                      for m in g.out_gated
                      if isinstance(m, torch.nn.BatchNorm2d)])


def _group_norms(model):
    """The L2 norm of every inner channel's group: its conv filter, norm
    scale and the next conv's input slice."""
    norms = []
    for group in _scope(model):
        squares = torch.zeros(group.width)
        for module in group.out_gated:
            squares += module.weight.detach().flatten(1).pow(2).sum(1) \
                if module.weight.dim() > 1 else module.weight.detach() ** 2
        for module in group.in_gated:
            squares += module.weight.detach().transpose(0, 1).flatten(
                1).pow(2).sum(1)
        norms.append(squares.sqrt())
    return torch.cat(norms)


@pytest.mark.parametrize('kind', ['plain', 'autocast'])
def test_slimming_drives_the_inner_bn_scales_down(kind):
    """L1 of 0.2 on the inner BN scales, 15 SGD steps: their mean |gamma|
    falls to at most 0.4 of the same training's without it (the L1 step is
    lr * reg = 0.01 per step, which momentum 0.9 builds up to about 0.8
    over 15 steps, from |gamma| = 1; the task gradient barely moves them)."""
    plain = _inner_scales(_train(kind=kind)).mean()
    slim = _inner_scales(_train('bn_scale', 0.2, kind=kind)).mean()
    assert slim <= 0.4 * plain, (float(slim), float(plain))


@pytest.mark.parametrize('kind', ['plain', 'autocast'])
def test_group_sparsity_drives_the_weak_groups_down(kind):
    """DepGraph's group regularizer (0.05) for 15 steps: the weakest
    quarter of the inner groups ends with at most half the norm it has
    after the same training without it (their gamma is up to 16, an
    effective weight decay of up to 0.8 at lr 0.05)."""
    plain = _group_norms(_train(kind=kind))
    sparse = _group_norms(_train('group_norm', 0.05, kind=kind))
    quarter = max(1, plain.numel() // 4)
    weakest_plain = plain.sort().values[:quarter].mean()
    weakest_sparse = sparse.sort().values[:quarter].mean()
    assert weakest_sparse <= 0.5 * weakest_plain, (
        float(weakest_sparse), float(weakest_plain))


def _penalty_gradients(regularizer, reg):
    """Every parameter's gradient change made by the hook at one step (the
    gradients read just before and just after its step pre-hook)."""
    model = _model()
    wrapper = _wrapper(model)
    hook = _attach(model, wrapper, regularizer, reg)
    names = {p: n for n, p in model.named_parameters()}
    after = {}

    def record(optimizer, args, kwargs):  # runs after the hook's
        after.update({names[p]: p.grad.clone()
                      for g in optimizer.param_groups for p in g['params']})

    wrapper.optimizer.register_step_pre_hook(record)
    batch = _batch(model, 0)
    loss, _ = model.parse_losses(model(**batch, mode='loss'))
    wrapper.backward(loss)
    before = {n: p.grad.clone() for n, p in model.named_parameters()}
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    wrapper.step()
    return model, hook, {n: after[n] - before[n] for n in before}, weights


def test_slimming_adds_reg_sign_gamma_to_the_inner_scales_only():
    reg = 1e-3
    model, hook, delta, weights = _penalty_gradients('bn_scale', reg)
    names = {id(m): n for n, m in model.named_modules()}
    inner = {f'{names[id(m)]}.weight' for m in hook.norms}
    assert len(inner) == 9  # ResNet-20: one inner norm per block
    for name, change in delta.items():
        if name in inner:
            expected = reg * torch.sign(weights[name])
            # exact but for float32 rounding of grad + penalty - grad
            assert torch.allclose(change, expected, rtol=0, atol=1e-6), name
        else:  # stem, block outputs, shortcuts, head, inner convs
            assert torch.count_nonzero(change) == 0, name


def test_group_sparsity_acts_on_the_inner_groups_only():
    """Each weight of an inner channel's group (its conv filter, norm
    scale, the next conv's input slice) gets reg * gamma_c * w with
    gamma_c in [1, 16]; everything else gets nothing."""
    reg = 0.1
    model, hook, delta, weights = _penalty_gradients('group_norm', reg)
    modules = dict(model.named_modules())
    scoped = {id(p) for p in hook.scoped}
    inside = [n for n, p in model.named_parameters() if id(p) in scoped]
    assert inside and all(n.startswith('backbone.layer') for n in inside)
    for name, param in model.named_parameters():
        change = delta[name]
        if id(param) not in scoped:
            assert torch.count_nonzero(change) == 0, name
            continue
        if name.endswith('bias'):  # regularize(bias=False)
            assert torch.count_nonzero(change) == 0, name
            continue
        weight = weights[name]
        nonzero = weight.abs() > 1e-3  # a ratio, away from float rounding
        gamma = change[nonzero] / (reg * weight[nonzero])
        assert gamma.min() >= 1 - 1e-3 and gamma.max() <= 16 + 1e-2, name
        assert gamma.max() > 1.5, name  # gamma varies with the group norm
    # the next conv's inputs are in scope, its outputs' norm is not
    assert 'backbone.layer1.0.conv2.weight' in inside
    assert 'backbone.layer1.0.bn2.weight' not in inside
    assert isinstance(modules['backbone.layer1.0.bn2'], torch.nn.BatchNorm2d)


def _runner(work_dir, max_iters, resume_from=None, hook=None):
    return Runner(
        model=_model_cfg(),
        work_dir=str(work_dir),
        experiment_name=osp.basename(str(work_dir)),
        train_dataloader=dict(
            dataset=Quadrants(), batch_size=8, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(type='astro_mm.AutocastOptimWrapper',
                           dtype='bfloat16',
                           optimizer=dict(type='SGD', lr=0.05, momentum=0.9,
                                          weight_decay=5e-4)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        custom_hooks=[hook or dict(type='astro_mm.SparseTrainingHook',
                                   regularizer='bn_scale', reg=0.05,
                                   input_size=SIZE)],
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False),
            logger=dict(type='LoggerHook', interval=100)),
        load_from=resume_from, resume=resume_from is not None,
        randomness=dict(seed=0), default_scope='mmpretrain')


def test_a_resumed_run_regularizes_as_an_uninterrupted_one(tmp_path):
    """4 iterations in one run against 2 + a resume for 2 more: the same
    weights (the hook has no state but its settings, which the checkpoint
    records)."""
    whole = _runner(tmp_path / 'whole', 4)
    whole.train()
    first = _runner(tmp_path / 'first', 2)
    first.train()
    checkpoint = str(tmp_path / 'first' / 'iter_2.pth')
    meta = load_checkpoint_file(checkpoint)['meta']
    assert meta['sparse_training'] == dict(regularizer='bn_scale', reg=0.05)
    resumed = _runner(tmp_path / 'resumed', 4, resume_from=checkpoint)
    resumed.train()
    expected = whole.model.state_dict()
    for name, value in resumed.model.state_dict().items():
        assert torch.allclose(value.float(), expected[name].float(),
                              atol=1e-6), name
    # the hook acted in the resumed half: its pre-hook is gone after train
    hook = next(h for h in resumed.hooks if isinstance(h, SparseTrainingHook))
    assert hook.pruner is not None and hook._handles == []


def test_sparse_training_refusals_name_the_problem():
    with pytest.raises(ValueError, match="regularizer must be one of "
                       r"\('bn_scale', 'group_norm'\), got 'l1'"):
        SparseTrainingHook(regularizer='l1')
    with pytest.raises(ValueError, match='reg must be a positive number'):
        SparseTrainingHook(reg=0)
    model = _model()
    hook = SparseTrainingHook()
    astro = SimpleNamespace(model=torch.nn.Module(),
                            optim_wrapper=_wrapper(model))
    astro.model.architecture = model
    with pytest.raises(ValueError, match='trains plain networks'):
        hook.before_train(astro)
    # the inner channels in no optimizer
    head_only = OptimWrapper(torch.optim.SGD(model.head.parameters(), lr=0.1))
    with pytest.raises(ValueError, match='exactly one optimizer; found none'):
        hook.before_train(SimpleNamespace(model=model,
                                          optim_wrapper=head_only))
    densenet = MODELS.build(dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='astro_mm.DenseNet_CIFAR',
                      arch=dict(growth_rate=4, depths=[2, 2],
                                init_channels=8)),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=3,
                  in_channels=16)))
    with pytest.raises(ValueError, match='ResNet backbones only'):
        hook.before_train(SimpleNamespace(
            model=densenet, optim_wrapper=_wrapper(densenet)))


CONFIGS = {
    'slimming/slimming-l11e-5': ('bn_scale', 1e-5),
    'slimming/slimming-l11e-4': ('bn_scale', 1e-4),
    'group_sparsity/group-sparsity-reg1e-4': ('group_norm', 1e-4),
    'group_sparsity/group-sparsity-reg5e-4': ('group_norm', 5e-4),
}
SUFFIX = '_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py'


def test_the_study_configs_add_the_hook_to_the_plain_holdout_config():
    found = sorted(glob.glob(osp.join(ROOT, 'configs/slimming/*.py')) +
                   glob.glob(osp.join(ROOT, 'configs/group_sparsity/*.py')))
    assert found == sorted(osp.join(ROOT, 'configs', name + SUFFIX)
                           for name in CONFIGS)
    plain = Config.fromfile(osp.join(
        ROOT, 'configs/resnet/resnet20-cifar-s2_1xb128-amp-5e_'
        'fashion-mnist-holdout5k.py'))
    for name, (regularizer, reg) in CONFIGS.items():
        cfg = Config.fromfile(osp.join(ROOT, 'configs', name + SUFFIX))
        # one cfg-option sets the coefficient
        cfg.merge_from_dict({'custom_hooks.0.reg': 3e-5})
        hook = HOOKS.build(cfg.custom_hooks[0])
        assert (hook.regularizer, hook.reg) == (regularizer, 3e-5)
        assert Config.fromfile(osp.join(ROOT, 'configs', name + SUFFIX)
                               ).custom_hooks[0].reg == reg
        for key in ('model', 'optim_wrapper', 'train_dataloader',
                    'val_dataloader', 'test_dataloader', 'train_cfg'):
            assert cfg[key] == plain[key], (name, key)
        # the fine-tune of the pruned network trains without the penalty
        assert dropped_from_pruned_config(cfg.custom_hooks[0])
