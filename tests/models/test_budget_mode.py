"""The budget-aware mode and the corrected alternation (issue: "The
modulation decides"; issue 25, section 4): budgets never zero what they
cannot remove, the realized cost meets the target, the export equals the
gated network, the multiplier follows r - t in both directions, Phi-steps
lower the task loss at fixed W, beta is gone, the chain steps in order,
W-rounds use the final Phi-state's P, Phi leaves the TNet's batch-norm
statistics alone."""
import copy

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

import astro_mm  # noqa: F401
from astro_mm.pruning import KeptCost, export_pruned
from helpers import (budget_optim_wrapper, budget_resnet20, quadrant_batch,
                     randomize_batch_norms, removed_over_kept_cost)

@pytest.fixture(autouse=True)
def mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.set_num_threads(1)
        yield


def _norm_buffers(module):
    return {k: v.clone() for k, v in module.state_dict().items()
            if 'running' in k or 'num_batches' in k}


# ------------------------------------------------------------- pruning
def test_kept_cost_counts_exactly_what_pruning_leaves():
    algo = budget_resnet20(budget=dict(target=0.6))
    cost = KeptCost(algo.family_plan, [layer.name for layer in algo.layers])
    assert cost.ratio([torch.ones(u) for u in algo._split]).item() == \
        pytest.approx(1.0)
    gen = torch.Generator().manual_seed(1)
    gates = [(torch.rand(u, generator=gen) > 0.4).float() for u in algo._split]
    for g in gates:
        g[0] = 1
    algo.set_round(1)
    algo.cached_probs.copy_(torch.cat(gates))
    result = export_pruned(algo)
    assert result.params_after == round(cost.kept(gates).item())
    assert result.params_before == cost.total


def test_flops_budget_counts_the_macs_of_the_pruned_backbone():
    from astro_mm.pruning.report import flops
    algo = budget_resnet20()
    algo.set_round(1)
    algo.cached_probs.copy_(torch.rand(algo.cached_probs.shape))
    algo.eval()
    result = export_pruned(algo, budget=0.5, measure='flops',
                           input_shape=(1, 12, 12))
    before = flops(algo.architecture.backbone, 12, 1)
    after = flops(result.model.backbone, 12, 1)
    assert 0.45 <= after / before <= 0.5
    names = [layer.name for layer in algo.layers]
    cost = KeptCost(algo.family_plan, names, 'flops', (1, 12, 12))
    assert cost.total == before
    kept = [(p > 0).float() for p in result.probs]
    assert cost.kept(kept).item() == pytest.approx(after)


def test_a_budget_never_zeroes_a_unit_it_cannot_remove():
    # paper mode: every conv but the stem is modulated, prunable or not
    algo = budget_resnet20()
    randomize_batch_norms(algo.architecture)
    algo.set_round(1)
    probs = torch.rand(algo.cached_probs.shape) * 0.9 + 0.05
    algo.cached_probs.copy_(probs)
    algo.eval()
    prunable = set(algo.family_plan.prunable_layer_names())
    assert any(layer.name not in prunable for layer in algo.layers)
    result = export_pruned(algo, budget=0.6)
    for layer, before, after in zip(algo.layers, algo._rows(probs),
                                    result.probs):
        if layer.name not in prunable:  # folded as it is, never zeroed
            torch.testing.assert_close(after, before)
    assert result.params_after <= 0.6 * result.params_before
    assert result.params_after >= 0.55 * result.params_before
    inputs = torch.randn(2, 1, 12, 12)
    algo.cached_probs.copy_(torch.cat(result.probs))
    with torch.no_grad():
        expected = algo(inputs, mode='tensor')
        actual = result.model(inputs, mode='tensor')
    assert (actual - expected).abs().max() <= 1e-4


def test_budget_ranks_by_p_relative_to_cost_and_keeps_a_minimum_width():
    algo = budget_resnet20()
    algo.set_round(1)
    algo.cached_probs.fill_(0.9)  # equal P: the costly units go first
    algo.eval()
    result = export_pruned(algo, budget=0.6, min_keep=0.25)
    widths = result.widths
    stage3 = [w for name, ws in widths.items() if name.startswith('layer3')
              for w in ws]
    stage1 = [w for name, ws in widths.items() if name.startswith('layer1')
              for w in ws]
    # stage 3's units own ~4x the parameters of stage 1's: they go first
    assert min(stage3) < 16 and min(stage1) == 4
    assert min(stage3) == 4  # 25 % of 16 kept whatever the cost


# -------------------------------------------------------------- budget mode
def test_budget_mode_modulates_only_prunable_units():
    algo = budget_resnet20(budget=dict(target=0.6))
    names = [layer.name for layer in algo.layers]
    assert names == algo.family_plan.prunable_layer_names()
    assert all(name.endswith('conv1') for name in names)


@pytest.mark.parametrize('modulator', ['manet', 'astronet'])
def test_budget_mode_meets_its_target_and_exports_the_gated_network(
        modulator):
    target = 0.6
    algo = budget_resnet20(modulator, budget=dict(target=target))
    optim = budget_optim_wrapper(algo)
    for step in range(150):
        algo.set_round(step // 10 + 1, per_batch=True)
        log = algo.train_step(quadrant_batch(step), optim)
    assert log['phase'] == 3.0  # batch: a Phi-step and a W-step
    algo.eval()
    result = export_pruned(algo)
    ratio = result.params_after / result.params_before
    assert abs(ratio - target) <= 0.02, (ratio, float(algo.budget.multiplier))
    # pruned at the gate threshold: exactly the gates the TNet trained with
    gates = torch.cat(algo.current_gates())
    assert torch.equal(torch.cat(result.probs), gates)
    assert set(gates.unique().tolist()) == {0.0, 1.0}
    inputs = torch.randn(3, 1, 12, 12)
    with torch.no_grad():
        expected = algo(inputs, mode='tensor')
        actual = result.model(inputs, mode='tensor')
    assert (actual - expected).abs().max() <= 1e-4
    # the Lagrangian's gradient on a gate is its unit's cost: AstroNet
    # removed the costlier units (at random the ratio would be ~1). MA-Net's
    # removals are not cost-aware here (0.96 / 1.08 on seeds 0 / 1):
    # asserted in neither direction, measured.
    if modulator == 'astronet':
        assert removed_over_kept_cost(algo) >= 1.5
    # and the pruned network learned the task (chance: 25 %)
    held_out = result.model.data_preprocessor(
        quadrant_batch(10_000, size=64), False)
    with torch.no_grad():
        predictions = result.model(**held_out, mode='predict')
    correct = [int(p.pred_label) == int(p.gt_label) for p in predictions]
    accuracy = sum(correct) / len(correct)
    print(modulator, 'pruned accuracy', accuracy)
    assert accuracy > 0.6


# an lr at which the Phi-steps move r within a few dozen steps (a free
# logit moves ~lr per Adam step; the MNets' shared weights move it faster)
FAST_PHI_LR = dict(manet=0.01, astronet=0.01, gates=0.1)


@pytest.mark.parametrize('modulator', ['manet', 'astronet', 'gates'])
@pytest.mark.parametrize('init_prob,target', [(0.95, 0.3), (0.2, 0.8)],
                         ids=['r_above_t', 'r_below_t'])
def test_the_multiplier_follows_r_minus_t_and_r_follows_the_multiplier(
        modulator, init_prob, target):
    """Dual ascent on the equality r = t: lambda leaves 0 on the side of
    r - t, in both directions (a lambda >= 0 would stay at 0 below t), and
    the Phi-steps move r towards t."""
    algo = budget_resnet20(modulator, budget=dict(target=target),
                      init_prob=init_prob)
    optim = budget_optim_wrapper(algo, mnet_lr=FAST_PHI_LR[modulator])
    algo.set_round(1, per_batch=True)
    ratios, multipliers = [], []
    for step in range(40):
        log = algo.train_step(quadrant_batch(step), optim)
        ratios.append(log['kept_ratio'])
        multipliers.append(log['multiplier'])
    side = 1 if init_prob > target else -1
    distance = side * (ratios[0] - target)
    assert distance > 0.5  # it starts far on that side
    # lambda is the running sum of 0.01 (r - t) over the Phi-steps, with
    # no clipping at 0
    expected = np.cumsum(0.01 * (np.array(ratios) - target))
    np.testing.assert_allclose(multipliers, expected, atol=1e-6)
    assert side * multipliers[9] >= 0.04, multipliers  # within 10 steps
    # ... and r went at least half-way to t
    assert max(side * (ratios[0] - r) for r in ratios) >= distance / 2, \
        ratios


def _trained_then_corrupted(modulator, budget, mnet_lr, mod_kwargs=None):
    """An algorithm whose W learned the toy task (warm-up: the plain
    network), then a quarter of every modulated layer's units made harmful
    (a random filter, its batch norm's scale and shift blown up): P that
    switches them off lowers the task loss."""
    algo = budget_resnet20(modulator, budget=budget, warmup_rounds=1,
                      modulator_cfg=mod_kwargs)
    optim = budget_optim_wrapper(algo, mnet_lr=mnet_lr)
    algo.train()
    algo.set_round(1)
    for step in range(40):
        algo.train_step(quadrant_batch(step), optim)
    gen = torch.Generator().manual_seed(0)
    harmful = []
    with torch.no_grad():
        for layer in algo.layers:
            units = torch.randperm(layer.num_units, generator=gen)[
                :layer.num_units // 4]
            weight = layer.weight_module.weight
            weight[units] = torch.randn(weight[units].shape, generator=gen)
            norm = layer.scale_module
            norm.weight[units] = 4.
            norm.bias[units] = 3.
            harmful.append(units)
    return algo, optim, harmful


def _data_loss(algo, data):
    """The task loss on ``data`` under the current P / gates, with the
    batch statistics a Phi-step sees."""
    from astro_mm.models.algorithms.alternating import frozen_norm_statistics
    algo.scaler.probs = algo.current_gates()
    with torch.no_grad(), frozen_norm_statistics(algo.architecture):
        loss = sum(algo.architecture(**data, mode='loss').values())
    algo.scaler.probs = None
    return float(loss)


# the MNets' own losses off: the task term alone
OWN_LOSSES_OFF = dict(manet=dict(reg_weight=0.),
                      astronet=dict(temporal_weight=0.))


@pytest.mark.parametrize('modulator', ['manet', 'astronet', 'gates'])
@pytest.mark.parametrize('mode', ['paper', 'budget'])
def test_phi_steps_at_fixed_w_lower_the_task_loss(modulator, mode):
    # budget mode without a budget's pull (rho = 0, lambda ~ 0): the hard
    # gates and the straight-through gradient of the task term alone
    budget = dict(target=1.0, penalty=0., multiplier_lr=1e-9) \
        if mode == 'budget' else None
    algo, optim, harmful = _trained_then_corrupted(
        modulator, budget, 2 * FAST_PHI_LR[modulator],
        OWN_LOSSES_OFF.get(modulator))
    held_out = algo.data_preprocessor(quadrant_batch(1_000, size=64), True)
    weights = {k: v.clone() for k, v in algo.architecture.state_dict().items()}
    algo.set_round(2)  # a Phi-round: W frozen
    assert algo.phase == 'phi'
    before = _data_loss(algo, held_out)
    for step in range(30):  # new batches, as in training
        algo.train_step(quadrant_batch(2_000 + step), optim)
    after = _data_loss(algo, held_out)
    for key, value in algo.architecture.state_dict().items():
        assert torch.equal(value, weights[key]), key  # W did not move
    # measured: 6.5x to 12x lower (paper), 7x to 40x (budget)
    assert after <= 0.5 * before, (before, after)
    if mode == 'budget':
        # the gates switched off mostly harmful units (a quarter of all)
        gates = torch.cat(algo.current_gates())
        is_harmful = torch.cat([
            torch.zeros(len(p), dtype=torch.bool).index_fill_(0, units, True)
            for p, units in zip(algo.current_probs(), harmful)])
        assert float(is_harmful[gates == 0].float().mean()) >= 0.4


def test_a_config_that_still_sets_sharpness_is_refused_saying_why():
    with pytest.raises(ValueError, match=r'budget\.sharpness was removed'):
        budget_resnet20('gates', budget=dict(target=0.6, sharpness=(1, 50)))
    with pytest.raises(TypeError, match='sharp_ness'):
        budget_resnet20('gates', budget=dict(target=0.6, sharp_ness=1))


def test_a_checkpoint_from_before_betas_removal_loads_with_its_gates():
    algo = budget_resnet20('gates', budget=dict(target=0.6))
    algo.set_round(1)
    algo.cached_probs.copy_(torch.rand(algo.cached_probs.shape))
    state = algo.state_dict()
    state['budget.sharpness'] = torch.tensor(50.)  # the old buffer
    other = budget_resnet20('gates', budget=dict(target=0.6), seed=1)
    missing, unexpected = other.load_state_dict(state, strict=True)
    assert not missing and not unexpected
    other.set_round(1)
    assert torch.equal(torch.cat(other.current_gates()),
                       torch.cat(algo.current_gates()))


# ------------------------------------------------------------- alternation
def test_phi_steps_leave_batch_norm_statistics_unchanged():
    algo = budget_resnet20()
    optim = budget_optim_wrapper(algo)
    algo.train()
    algo.set_round(2)  # a Phi-round
    assert algo.phase == 'phi'
    before = _norm_buffers(algo.architecture)
    params_before = {k: v.clone() for k, v in
                     algo.architecture.named_parameters()}
    modulator_before = copy.deepcopy(algo.modulator.state_dict())
    algo.train_step(quadrant_batch(0), optim)
    for key, value in _norm_buffers(algo.architecture).items():
        assert torch.equal(value, before[key]), key
    for key, value in algo.architecture.named_parameters():
        assert torch.equal(value, params_before[key]), key
    moved = [k for k, v in algo.modulator.state_dict().items()
             if not torch.equal(v, modulator_before[k])]
    assert any(k.startswith('decoders') for k in moved)
    # a W-step does move them
    algo.set_round(3)
    algo.train_step(quadrant_batch(1), optim)
    assert any(not torch.equal(v, before[k])
               for k, v in _norm_buffers(algo.architecture).items())


def test_a_w_round_uses_the_p_of_the_final_phi_state():
    algo = budget_resnet20()
    optim = budget_optim_wrapper(algo)
    algo.train()
    algo.set_round(2)
    for step in range(3):
        algo.train_step(quadrant_batch(step), optim)
    final = copy.deepcopy(algo.modulator).eval()
    descriptors = algo._descriptors()
    previous = algo._rows(algo.previous_snapshot)
    with torch.no_grad():
        logits, _ = final(descriptors, previous, with_reg=False)
    expected = torch.cat([torch.sigmoid(z) for z in logits])
    seen = []
    handle = algo.architecture.backbone.register_forward_pre_hook(
        lambda *_: seen.append(torch.cat(algo.scaler.probs).clone()))
    algo.set_round(3)  # the W-round
    algo.train_step(quadrant_batch(9), optim)
    handle.remove()
    torch.testing.assert_close(seen[0], expected)
    # ... and only then the LSTM state moves on to the next round's
    assert torch.equal(algo.modulator.lstm_state, final.next_lstm_state)
    assert not torch.equal(final.lstm_state, final.next_lstm_state)


def test_the_chain_updates_astrocytes_in_order_each_after_its_predecessors():
    algo = budget_resnet20(joint='chain') if False else budget_resnet20()
    assert algo.modulator.joint == 'chain'
    optim = budget_optim_wrapper(algo, mnet_lr=0.05)
    algo.train()
    algo.set_round(2)
    events = []
    modulator = algo.modulator

    def fingerprint():
        return [torch.cat([p.detach().flatten() for p in
                           modulator.astrocyte_parameters(j)]).clone()
                for j in range(modulator.num_astrocytes)]

    def on_forward(module, args, kwargs):
        if kwargs.get('with_reg', True) and torch.is_grad_enabled():
            events.append(('forward', fingerprint()))

    handle = modulator.register_forward_pre_hook(on_forward, with_kwargs=True)
    for name in optim.keys():
        wrapper = optim[name]
        step = wrapper.step

        def logged(*args, name=name, step=step, **kwargs):
            events.append(('step', name))
            return step(*args, **kwargs)

        wrapper.step = logged
    algo.train_step(quadrant_batch(0), optim)
    handle.remove()
    kinds = [e[0] if e[0] == 'forward' else e[1] for e in events]
    assert kinds == ['forward', 'mnet', 'mnet_a1', 'forward', 'mnet_a2',
                     'forward', 'mnet_a3']
    forwards = [e[1] for e in events if e[0] == 'forward']
    for j in range(1, 3):
        # forward j sees A_1 .. A_j updated, A_{j+1} .. not yet
        for i in range(3):
            changed = not torch.equal(forwards[j][i], forwards[0][i])
            assert changed == (i < j), (j, i)


def test_independent_astrocytes_step_together():
    algo = budget_resnet20(modulator='manet')
    algo.modulator.joint = 'independent'
    assert algo._chain(['mnet', 'mnet_a1', 'mnet_a2', 'mnet_a3']) == \
        [['mnet', 'mnet_a1', 'mnet_a2', 'mnet_a3']]


def test_l_reg_sums_over_the_m_anchors():
    algo = budget_resnet20()
    modulator = algo.modulator.train()
    summaries = torch.randn(3, modulator.num_astrocytes, 16)
    z = torch.nn.functional.normalize(
        modulator.projector(summaries[1:].reshape(6, -1)), dim=1)
    sim = z @ z.t() / modulator.temperature
    expected = 0.
    for j in range(3):
        logits = torch.cat([sim[j, :j], sim[j, j + 1:]])
        positive = sim[j, j + 3]
        expected = expected - positive + torch.logsumexp(logits, 0)
    torch.testing.assert_close(modulator._info_nce(summaries), expected)


def test_the_mnet_learns_from_the_task():
    # the task gradient reaches g1 / g2 / the LSTMs through the decoders
    algo = budget_resnet20()
    algo.modulator.reg_weight = 0.
    optim = budget_optim_wrapper(algo)
    algo.train()
    algo.set_round(2)
    # after one step: gradients flowed
    algo.train_step(quadrant_batch(0), optim)
    modulator = algo.modulator
    logits, _ = modulator(algo._descriptors(), algo._rows(
        algo.previous_snapshot))
    data = algo.data_preprocessor(quadrant_batch(1), True)
    algo.scaler.probs = [torch.sigmoid(z) for z in logits]
    loss = sum(algo.architecture(**data, mode='loss').values())
    loss.backward()
    g1 = torch.cat([p.grad.flatten() for p in modulator.g1.parameters()])
    lstm = torch.cat([p.grad.flatten()
                      for p in modulator.astrocytes[0].parameters()
                      if p.grad is not None])
    assert g1.abs().max() > 1e-6 and lstm.abs().max() > 1e-6



def test_budget_key_cost_is_read_as_measure():
    """``model.budget.cost``, the former name of ``measure``, is read (with
    a warning); both at once are refused."""
    from astro_mm.models.algorithms.budget import UnitBudget
    budget = UnitBudget(target=0.6, cost='flops', input_shape=(1, 12, 12))
    assert budget.measure == 'flops'
    with pytest.raises(ValueError, match='both cost'):
        UnitBudget(target=0.6, cost='flops', measure='flops')
