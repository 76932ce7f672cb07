"""The ``gates`` control (issue 25, section 2): the budget-aware mode on one
free logit per unit (astro_mm.FreeLogitsModulator), no modulation network.
It meets its target in either measure and exports the network it trained;
the optimizer constructor, the tools (train, resume, prune) and the P
history work with it; the fair study's configs differ from the astro rows
in the modulator only, and one key sets every Phi optimizer's lr."""
import copy
import json
import math

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import astro_mm  # noqa: F401
from astro_mm.compat import load_checkpoint_file
from astro_mm.models.modulators import FreeLogitsModulator
from astro_mm.pruning import export_pruned
from astro_mm.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from conftest import ROOT, run_tool
from helpers import (budget_optim_wrapper, budget_resnet20, quadrant_batch,
                     removed_over_kept_cost)

STUDY = ('resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py')
MEASURES = [('params', 60), ('params', 40), ('flops', 60), ('flops', 40)]


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.set_num_threads(1)
        yield


def _gates(budget, seed=0, **modulator):
    return budget_resnet20('gates', budget=budget, seed=seed, **modulator)


# ------------------------------------------------------------- the modulator
def test_free_logits_start_where_the_mnets_start_and_read_no_descriptor():
    algo = _gates(dict(target=0.6))
    modulator = algo.modulator
    assert isinstance(modulator, FreeLogitsModulator)
    assert modulator.layer_units == algo._split
    # one parameter per unit, nothing else
    assert sum(p.numel() for p in modulator.parameters()) == sum(algo._split)
    descriptors = algo._descriptors()
    logits, losses = modulator(descriptors)
    assert losses == {}
    noise = [torch.randn_like(d) for d in descriptors]
    again, _ = modulator(noise)
    assert all(torch.equal(a, b) for a, b in zip(logits, again))
    # P = 0.95 before training, the MNets' init_prob: every gate on
    torch.testing.assert_close(
        torch.cat(algo._read_probs()),
        torch.full((sum(algo._split), ), 0.95))
    with pytest.raises(ValueError, match='init_prob'):
        FreeLogitsModulator([4, 4], init_prob=1.0)
    with pytest.raises(ValueError, match='descriptors'):
        modulator(descriptors[:-1])


def test_the_constructor_gives_the_free_logits_one_optimizer():
    algo = _gates(dict(target=0.6))
    optim = budget_optim_wrapper(algo, mnet_lr=0.05)
    assert sorted(optim.keys()) == ['mnet', 'tnet']
    stepped = {id(p) for group in optim['mnet'].optimizer.param_groups
               for p in group['params']}
    assert stepped == {id(p) for p in algo.modulator.parameters()}
    assert optim['mnet'].optimizer.param_groups[0]['lr'] == 0.05


# ------------------------------------------------------------ the budget
@pytest.mark.parametrize('cost', ['params', 'flops'])
def test_gates_meet_the_target_and_export_the_gated_network(cost):
    target = 0.6
    budget = dict(target=target, cost=cost)
    if cost == 'flops':
        budget['input_shape'] = (1, 12, 12)
    algo = _gates(budget)
    # Adam moves a free logit by about lr per step: 0.1 takes it across
    # the threshold from P = 0.95 (logit 2.9) in ~30 steps
    optim = budget_optim_wrapper(algo, mnet_lr=0.1)
    for step in range(150):
        algo.set_round(step // 10 + 1, per_batch=True)
        log = algo.train_step(quadrant_batch(step), optim)
    assert log['phase'] == 3.0
    algo.eval()
    result = export_pruned(algo)  # at the gate threshold
    realized = algo.budget.kept_ratio(algo.current_probs())
    assert abs(realized - target) <= 0.02, (realized,
                                             float(algo.budget.multiplier))
    if cost == 'params':
        assert result.params_after / result.params_before == \
            pytest.approx(realized, abs=1e-6)
    else:
        from astro_mm.pruning.report import flops
        before = flops(algo.architecture.backbone, 12, 1)
        after = flops(result.model.backbone, 12, 1)
        assert after / before == pytest.approx(realized, abs=1e-6)
    gates = torch.cat(algo.current_gates())
    assert torch.equal(torch.cat(result.probs), gates)
    # cost-aware in the budget's own measure: costlier units went
    assert removed_over_kept_cost(algo) >= 1.15
    inputs = torch.randn(3, 1, 12, 12)
    with torch.no_grad():
        expected = algo(inputs, mode='tensor')
        actual = result.model(inputs, mode='tensor')
    assert (actual - expected).abs().max() <= 1e-5


# ---------------------------------------------- the tools, resume, history
TINY_GATES = """
_base_ = '{root}/configs/manet/manet-budget60_resnet18_1xb64-3e_demo-cifar.py'
data_root = '{data}'
train_dataloader = dict(
    batch_size=8, dataset=dict(data_root=data_root),
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True))
val_dataloader = dict(batch_size=32, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=8, val_interval=1000)
param_scheduler = []
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=4, max_keep_ckpts=-1),
    logger=dict(interval=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0, deterministic=True)
custom_hooks = [
    dict(type='astro_mm.AlternationHook', round_unit='iter', round_interval=2,
         alternation='per_batch'),
    dict(type='astro_mm.ProbabilityHistoryHook', interval=2),
]
model = dict(
    warmup_rounds=1,
    # P starts at 0.6: the first Phi-steps at lr 0.3 take the logits
    # across 0 (all at once: Adam moves equal logits by ~lr each)
    modulator=dict(_delete_=True, type='astro_mm.FreeLogitsModulator',
                   init_prob=0.6),
    budget=dict(target=0.6),
    architecture=dict(
        backbone=dict(stem_channels=8, base_channels=8),
        head=dict(in_channels=64)))
optim_wrapper = dict(mnet=dict(optimizer=dict(lr=0.3)))
"""


@pytest.fixture(scope='module')
def gates_run(demo_root, tmp_path_factory):
    work = tmp_path_factory.mktemp('gates')
    config = work / 'tiny_gates.py'
    config.write_text(TINY_GATES.format(root=ROOT,
                                        data=demo_root / 'demo_cifar'))
    run_tool('tools/train.py', str(config), '--work-dir', str(work / 'run'))
    return config, work


def test_gates_train_resume_and_record_their_p(gates_run):
    config, work = gates_run
    straight = work / 'run'
    final = load_checkpoint_file(str(straight / 'iter_8.pth'))
    logits = [v for k, v in final['state_dict'].items()
              if k.startswith('modulator.logits.')]
    assert len(logits) == 8  # one tensor per block of ResNet-18
    start = math.log(0.6 / 0.4)
    # the six Phi-steps moved the logits
    assert max(float((z - start).abs().max()) for z in logits) > 0.1
    assert set(final['optimizer']) == {'tnet', 'mnet'}
    # resumed after iteration 4: the same state, bit for bit, at 8
    resumed = work / 'resumed'
    run_tool('tools/train.py', str(config), '--work-dir', str(resumed),
             '--resume', str(straight / 'iter_4.pth'))
    again = load_checkpoint_file(str(resumed / 'iter_8.pth'))
    for key, value in final['state_dict'].items():
        assert torch.equal(value, again['state_dict'][key]), key
    for name in ('tnet', 'mnet'):
        for index, state in final['optimizer'][name]['state'].items():
            for key, value in state.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(
                    again['optimizer'][name]['state'][index][key])), key
    # the P history: records at 2 (warm-up: none), 4, 6, 8, the P cached
    history = np.load(str(straight / 'p_history.npz'))
    assert history['step'].tolist() == [4, 6, 8]
    last = np.concatenate([history[k][-1] for k in history.files
                           if k.startswith('p/')])
    cached = final['state_dict']['cached_probs'].numpy()
    np.testing.assert_allclose(np.sort(last), np.sort(cached), atol=1e-7)


def test_tools_prune_cuts_the_gates_at_their_threshold(gates_run, tmp_path):
    config, work = gates_run
    # after iteration 4 the gates are off but for min_keep (the run's log:
    # kept_ratio 0.088)
    checkpoint = work / 'run' / 'iter_4.pth'
    out = tmp_path / 'gates.pth'
    run_tool('tools/prune.py', str(config), str(checkpoint), '--out',
             str(out), '--recalibrate-batches', '0', '--latency-repeats', '1',
             '--input-size', '32')
    report = json.loads(out.with_suffix('.json').read_text())
    cfg = Config.fromfile(str(config))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        algo = MODELS.build(cfg.model)
    algo.load_state_dict(load_checkpoint_file(str(checkpoint))['state_dict'])
    # the kept share is the one the gates realized at the last Phi-step
    expected = algo.budget.kept_ratio(algo._rows(algo.cached_probs))
    assert report['params_ratio'] == pytest.approx(expected, abs=1e-4)
    assert report['params_ratio'] < 0.5


# ------------------------------------------------------- the study's configs
def _study(method, measure, target):
    return Config.fromfile(
        f'{ROOT}/configs/{method}/{method}-{measure}{target}_{STUDY}')


def _without_modulator(cfg):
    model = copy.deepcopy(cfg.to_dict()['model'])
    model.pop('modulator')
    return model


@pytest.mark.parametrize('measure,target', MEASURES)
def test_the_gates_config_is_the_astro_row_but_for_the_modulator(
        measure, target):
    gates = _study('gates', measure, target)
    astro = {m: _study(m, measure, target) for m in ('astronet', 'manet')}
    assert gates.model.modulator.type == 'astro_mm.FreeLogitsModulator'
    budget = dict(target=target / 100)
    if measure == 'flops':
        budget.update(measure='flops', input_shape=(1, 28, 28))
    assert gates.model.budget == budget
    for cfg in astro.values():
        assert _without_modulator(cfg) == _without_modulator(gates)
        for key in ('optim_wrapper', 'param_scheduler', 'train_cfg',
                    'custom_hooks', 'train_dataloader', 'val_dataloader',
                    'test_dataloader'):
            assert cfg[key] == gates[key], key
    assert gates.train_dataloader.dataset.part == 'fit'
    assert gates.val_dataloader.dataset.part == 'holdout'


@pytest.mark.parametrize('method', ['astronet', 'manet', 'gates'])
def test_one_key_sets_the_lr_of_every_phi_optimizer(method):
    cfg = _study(method, 'flops', 40)
    cfg.merge_from_dict({'optim_wrapper.mnet.optimizer.lr': 3e-2})
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        algo = MODELS.build(cfg.model)
        optim = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
            type=cfg.optim_wrapper.constructor,
            optim_wrapper_cfg={k: v for k, v in cfg.optim_wrapper.items()
                               if k != 'constructor'}))(algo)
    phi = [name for name in optim.keys() if name.startswith('mnet')]
    assert len(phi) == (4 if method == 'manet' else 1)  # M = 3: mnet + a1..a3
    for name in phi:
        assert optim[name].optimizer.param_groups[0]['lr'] == 3e-2, name
        assert optim[name].clip_grad_kwargs == dict(max_norm=1.0)
    assert optim['tnet'].optimizer.param_groups[0]['lr'] == 0.1
    # the budget's cost model counts MACs of a 28 x 28 image
    assert algo.budget.measure == 'flops'
