"""The paper mode's own loss terms move what they act on (issue 25, section
4), under the readings the papers leave open (AstroNetModulator's
``temporal_norm`` / ``temporal_span``, MANetModulator's ``view_noise`` /
``num_negatives``), and the sensitivity study's options work as configs.

Everything is tiny: the modulators over five layers of 4-16 units, a fixed
set of descriptors (W does not move), a fixed stand-in for the task's
dL/dP (a Phi-step's objective is <dL/dP, P> + the MNet's own terms), SGD as
the papers (lr 0.1, momentum 0.9).
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

import astro_mm  # noqa: F401  (registers the components)
from astro_mm.analysis.paper_mode_study import read_study
from astro_mm.models import AstroNetModulator, MANetModulator
from conftest import ROOT, run_tool
UNITS = [4, 8, 8, 16, 12]
GROUPS = [0, 0, 1, 1, 2]  # M = 3, as the study's ResNet-20
TINY_MANET = dict(token_dim=16, num_lstm=2, squeeze_len=4, vit_depth=1,
                  vit_heads=2)


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """Tiny tensors: one thread avoids oversubscription on shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _descs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(u, 2, generator=g) + 0.5 for u in UNITS]


def _task_grad(seed=1, scale=0.05):
    """A fixed dL/dP, the task's part of a Phi-step at fixed W. Small
    enough that P stays near-uniform over the steps (std 0.010, as in the
    trained paper-mode runs); a large one (scale 1) swings mean P from 0.96
    to 0.39 and back within 8 steps of SGD 0.1 with momentum."""
    return scale * torch.randn(
        sum(UNITS), generator=torch.Generator().manual_seed(seed + 100))


def _astronet(seed=0, **kwargs):
    torch.manual_seed(seed)
    kwargs.setdefault('width', 4)
    return AstroNetModulator(layer_units=UNITS, **kwargs)


def _phi_steps(an, steps, task_grad, descs, end_round_at=(), lr=0.1,
               momentum=0.9, with_task=True):
    """``steps`` Phi-steps at fixed W; e^t and P after each."""
    optimizer = torch.optim.SGD(an.parameters(), lr=lr, momentum=momentum)
    errors, probs = [], []
    for step in range(steps):
        if step in end_round_at:
            an.end_round()
        logits, aux = an(descs)
        p = torch.sigmoid(torch.cat(logits))
        loss = aux['loss_temporal']
        if with_task:
            loss = loss + (task_grad * p).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        errors.append(float(aux['e_t']))
        probs.append(p.detach())
    return errors, probs


# ------------------------------------------------- AstroNet: U and e^1
def test_literal_u_makes_e1_constant_and_rms_does_not():
    """The documented fact behind the readings: with T = 1 the term is
    lambda * e^1. Under U = L2 (the literal reading) e^1 == 1 for any AN
    and input, so its gradient is 0; standardization gives sqrt(n), as
    constant; U(P) = P / sqrt(n) gives RMS(P), which differs between ANs."""
    n = sum(UNITS)
    e1 = {}
    for norm in ('l2', 'standardize', 'rms'):
        for seed in (0, 1):
            an = _astronet(seed, num_iters=1, temporal_norm=norm,
                           temporal_weight=1.0)
            logits, aux = an(_descs(seed))
            e1[norm, seed] = float(aux['e_t'])
            p = torch.sigmoid(torch.cat(logits))
            if norm == 'rms':
                assert e1[norm, seed] == pytest.approx(
                    float(p.detach().pow(2).mean().sqrt()), rel=1e-5)
            if norm == 'l2':
                aux['loss_temporal'].backward()
                assert an.bias.grad.abs() < 1e-6  # a constant: no gradient
    assert e1['l2', 0] == pytest.approx(1.0, abs=1e-6)
    assert e1['l2', 1] == pytest.approx(1.0, abs=1e-6)
    assert e1['standardize', 0] == pytest.approx(n**0.5, rel=1e-5)
    assert e1['standardize', 1] == pytest.approx(n**0.5, rel=1e-5)
    assert abs(e1['rms', 0] - e1['rms', 1]) > 0.02  # measured: 0.958, 0.910


# ---------------------------------------- AstroNet: e^t across Phi-steps
def test_e_moves_across_phi_steps_under_the_steps_span():
    """k = 8 Phi-steps at fixed W, P near-uniform. The literal reading's
    e^T (T = 6 inner iterations) sits at the AN's fixed point: below 1e-7
    at every step while P moves (mean P 0.958 -> 0.973). Compared across
    Phi-steps, e follows P: it starts at P's distance from the warm-up's
    P == 1 (0.0112) and then tracks the size of each step (0.0017 -
    0.0028). (The fixed point needs a near-uniform P: where P spreads, std
    0.06 or 0.3, the literal e^T reaches 4e-6 or 6e-4.)"""
    descs, task = _descs(), _task_grad()
    literal, literal_p = _phi_steps(_astronet(num_iters=6), 8, task, descs)
    steps, steps_p = _phi_steps(
        _astronet(num_iters=6, temporal_span='steps'), 8, task, descs)
    assert max(literal) < 1e-7
    assert float((literal_p[-1] - literal_p[0]).abs().max()) > 1e-2
    assert max(steps) - min(steps) > 5e-3
    assert steps[0] > 3 * max(steps[1:])
    # the first e is P's distance from the warm-up's P == 1, in U's metric
    ones = torch.ones_like(steps_p[0])
    assert steps[0] == pytest.approx(
        float((steps_p[0] / steps_p[0].norm() - ones / ones.norm()).norm()),
        rel=1e-4)


def test_e_is_the_change_from_round_to_round_under_the_rounds_span():
    """'rounds': within a round e grows with P's distance from the last
    round's final P; end_round moves the reference, so e drops at the
    boundary; the term starts once a previous round's e exists."""
    descs, task = _descs(), _task_grad()
    an = _astronet(num_iters=6, temporal_span='rounds')
    optimizer = torch.optim.SGD(an.parameters(), lr=0.1, momentum=0.9)
    errors, terms = [], []
    for step in range(8):
        if step in (3, 6):
            an.end_round()
        logits, aux = an(descs)
        loss = (task * torch.sigmoid(torch.cat(logits))).sum() + \
            aux['loss_temporal']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        errors.append(float(aux['e_t']))
        terms.append(float(aux['loss_temporal'].detach()))
    # no previous round's e in the first round: no term
    assert terms[:3] == [0.0] * 3
    assert min(terms[3:]) > 1e-7  # measured 2e-6 - 5e-6 (lambda = 1e-3)
    # the reference moved at step 3: e fell by > 3e-3 (0.0076 -> 0.0022)
    assert errors[2] - errors[3] > 3e-3
    # within round 2 e grows as P leaves the round's reference
    assert errors[5] > errors[3] + 1e-3


def test_the_rounds_term_alone_drives_e_to_the_last_rounds_e():
    """lambda = 1, the term alone (no task gradient) for 10 steps after two
    rounds of task steps. The new round starts near its reference (e 0.1 -
    0.2 of the last round's e); the term moves P (by > 5e-3; measured
    0.011 (L2), 0.021 (RMS)) until e is within 30 % of the first gap
    (measured 13 %, 14 %): it asks P to change as much as it did the round
    before."""
    descs, task = _descs(), _task_grad()
    for norm in ('l2', 'rms'):
        an = _astronet(num_iters=6, temporal_span='rounds',
                       temporal_norm=norm, temporal_weight=1.0)
        _phi_steps(an, 6, task, descs, end_round_at=(3, ), momentum=0.)
        an.end_round()
        previous = float(an.reference_error)
        errors, probs = _phi_steps(an, 10, task, descs, momentum=0.,
                                   with_task=False)
        assert float((probs[-1] - probs[0]).abs().max()) > 5e-3, norm
        first, last = abs(errors[0] - previous), abs(errors[-1] - previous)
        assert first > 0.5 * previous, (norm, errors, previous)
        assert last < 0.3 * first, (norm, errors, previous)


def test_reference_buffers_follow_the_phi_steps_and_checkpoints():
    descs = _descs()
    assert 'reference_probs' not in _astronet().state_dict()  # literal
    for span in ('steps', 'rounds'):
        an = _astronet(num_iters=2, temporal_span=span)
        start = {k: v.clone() for k, v in an.state_dict().items()
                 if 'reference' in k}
        assert torch.equal(start['reference_probs'], torch.ones(sum(UNITS)))
        an.eval()  # a read of P (logs, export) changes no buffer
        an(descs)
        an.train()
        an(descs, with_reg=False)
        for key, value in start.items():
            assert torch.equal(an.state_dict()[key], value), (span, key)
        logits, aux = an(descs)  # a Phi-step's forward
        p = torch.sigmoid(torch.cat(logits)).detach()
        assert torch.allclose(an.next_reference_probs, p)
        committed = torch.allclose(an.reference_probs, p)
        assert committed == (span == 'steps')
        an.end_round()
        assert torch.allclose(an.reference_probs, p)
        assert float(an.reference_error) == pytest.approx(float(aux['e_t']))
        # a resumed run continues the same sequence
        resumed = _astronet(seed=5, num_iters=2, temporal_span=span)
        resumed.load_state_dict(an.state_dict())
        with torch.no_grad():
            assert float(resumed(descs)[1]['loss_temporal']) == \
                pytest.approx(float(an(descs)[1]['loss_temporal']))


def test_bad_readings_are_refused():
    with pytest.raises(ValueError, match='temporal_norm'):
        _astronet(temporal_norm='l1')
    with pytest.raises(ValueError, match='temporal_span'):
        _astronet(temporal_span='epochs')
    with pytest.raises(ValueError, match='init_prob'):
        _astronet(init_prob=1.0)
    with pytest.raises(ValueError, match='num_negatives'):
        MANetModulator(UNITS, GROUPS, num_negatives=-1, **TINY_MANET)


def test_the_algorithm_carries_the_rounds_reference_at_fixed_w():
    """Through AlternatingAlgorithm (a tiny ResNet, Phi-rounds 2 and 4 of
    the paper's alternation, W untouched): the reference stays P == 1 for
    the first Phi-round, and the round change commits the last Phi-step's
    P; e^t is logged with the inner e^T beside it."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmpretrain.structures import DataSample
    from astro_mm.registry import MODELS
    g = torch.Generator().manual_seed(0)
    data = dict(
        inputs=[torch.randint(0, 255, (3, 16, 16), dtype=torch.uint8,
                              generator=g) for _ in range(4)],
        data_samples=[DataSample().set_gt_label(i % 4) for i in range(4)])
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.manual_seed(0)
        algo = MODELS.build(dict(
            type='astro_mm.AlternatingAlgorithm', warmup_rounds=1,
            architecture=dict(
                type='mmpretrain.ImageClassifier',
                backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                              stem_channels=8, base_channels=8),
                neck=dict(type='mmpretrain.GlobalAveragePooling'),
                head=dict(type='mmpretrain.LinearClsHead', num_classes=4,
                          in_channels=64),
                data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                                       num_classes=4)),
            modulator=dict(type='astro_mm.AstroNetModulator', width=4,
                           num_iters=2, temporal_span='rounds')))
        wrappers = build_optim_wrapper(algo, dict(
            constructor='astro_mm.AlternatingOptimWrapperConstructor',
            tnet=dict(optimizer=dict(type='SGD', lr=0.1)),
            mnet=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))))
        an = algo.modulator
        weights = [p.detach().clone() for p in algo.architecture.parameters()]
        algo.set_round(2)
        logs = [algo.train_step(data, wrappers) for _ in range(3)]
        assert torch.equal(an.reference_probs, torch.ones_like(
            an.reference_probs))
        pending = an.next_reference_probs.clone()
        algo.set_round(4)  # the next Phi-round (W-round 3 skipped)
        assert torch.equal(an.reference_probs, pending)
        logs += [algo.train_step(data, wrappers) for _ in range(2)]
    assert all(torch.equal(w, p) for w, p in
               zip(weights, algo.architecture.parameters()))
    assert all('e_inner' in log for log in logs)
    errors = [float(log['e_t']) for log in logs]
    # round 4 measures from round 2's last P: e restarts small
    assert errors[3] < errors[2]
    # no term in the first Phi-round; from round 4 on, against round 2's e
    assert [float(log['loss_temporal']) for log in logs[:3]] == [0.0] * 3
    assert float(logs[3]['loss_temporal']) > 0.0


# ---------------------------------------------------- MA-Net: L_reg
def _reg_after(steps, **kwargs):
    torch.manual_seed(0)
    net = MANetModulator(UNITS, GROUPS, reg_weight=1.0, **TINY_MANET,
                         **kwargs)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    descs, previous = _descs(0), _descs(1)
    for _ in range(steps):
        loss = net(descs, previous)[1]['loss_reg']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return float(loss)


def test_lreg_collapses_with_the_default_views_and_not_with_hard_ones():
    """40 steps on L_reg alone. The default views (10 % noise, anchors
    against the other sub-astrocytes only) are told apart by the
    sub-astrocytes' identity, without reading W: L_reg falls below 1e-2
    (measured 5e-4). With 4 shuffled-unit negatives per anchor identity no
    longer suffices: L_reg stays above 90 % of M * ln(1 + 4) (4.83), the
    value of embeddings that cannot tell a shuffled view from the positive
    (measured 4.83: within 40 steps the MNet does not learn to)."""
    default = _reg_after(40)
    hard = _reg_after(40, view_noise=0.3, num_negatives=4)
    plateau = 3 * torch.log(torch.tensor(5.)).item()
    assert default < 1e-2
    assert hard > 0.9 * plateau


def test_negatives_are_shuffled_views_and_leave_the_default_draws():
    descs, previous = _descs(0), _descs(1)
    plain = MANetModulator(UNITS, GROUPS, **TINY_MANET)._views(
        descs, previous, True)
    hard = MANetModulator(UNITS, GROUPS, num_negatives=3, **TINY_MANET)
    views = hard._views(descs, previous, True)
    exact = MANetModulator(UNITS, GROUPS, num_negatives=3, view_noise=0.,
                           **TINY_MANET)._views(descs, previous, True)
    for units, c, p, v, w, x in zip(UNITS, descs, previous, plain, views,
                                    exact):
        assert v.shape == (3, units, 4) and w.shape == (6, units, 4)
        # the clean and perturbed views are those drawn without negatives
        assert torch.equal(v, w[:3])
        # without noise a negative holds the same rows in another order
        rows = torch.cat([c, p], dim=1)
        for negative in x[3:]:
            assert torch.equal(negative[negative[:, 0].argsort()],
                               rows[rows[:, 0].argsort()])
        if units >= 8:
            assert not any(torch.equal(n, rows) for n in x[3:])
    loss = hard(descs, previous)[1]['loss_reg']
    assert torch.isfinite(loss)


# --------------------------------------- config: the MNet at a constant lr
class _Batches(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return torch.ones(1)


class _TwoNets(BaseModel):
    """What AlternatingOptimWrapperConstructor reads: an architecture and
    a MA-Net MNet (M = 3: wrappers tnet, mnet, mnet_a1 ... mnet_a3)."""

    def __init__(self):
        super().__init__()
        self.architecture = nn.Linear(1, 1)
        self.modulator = MANetModulator(UNITS, GROUPS, **TINY_MANET)

    def forward(self, *args, **kwargs):
        raise NotImplementedError('only the optimizers are used')

    def train_step(self, data, optim_wrapper):
        return {}


def _lrs(tmp_path, param_scheduler):
    seen = []

    class LrRecorder(Hook):

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            seen.append({name: lr[0] for name, lr in
                         runner.optim_wrapper.get_lr().items()})

    runner = Runner(
        model=_TwoNets(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=_Batches(), batch_size=1,
            sampler=dict(type='InfiniteSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(
            constructor='astro_mm.AlternatingOptimWrapperConstructor',
            tnet=dict(optimizer=dict(type='SGD', lr=0.1)),
            mnet=dict(optimizer=dict(type='SGD', lr=0.1))),
        param_scheduler=param_scheduler,
        train_cfg=dict(by_epoch=False, max_iters=4),
        custom_hooks=[LrRecorder()],
        default_hooks=dict(checkpoint=None, logger=None),
        default_scope='mmengine')
    runner.train()
    return seen


def test_the_constant_lr_snippet_leaves_every_mnet_optimizer_alone(tmp_path):
    snippet = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/schedules/mnet_constant_lr.py'))
    warmup = [dict(type='LinearLR', start_factor=0.1, by_epoch=False,
                   begin=0, end=4)]
    lrs = _lrs(tmp_path / 'dict', dict(
        tnet=warmup, **snippet.constant_mnet_schedulers))
    names = ['tnet.lr', 'mnet.lr', 'mnet_a1.lr', 'mnet_a2.lr', 'mnet_a3.lr']
    assert sorted(lrs[0]) == sorted(names)
    assert [step['tnet.lr'] for step in lrs] == pytest.approx(
        [0.01, 0.04, 0.07, 0.1])
    for step in lrs:
        for name in names[1:]:
            assert step[name] == pytest.approx(0.1), (name, step)
    # a list applies to every optimizer: the MNet follows the TNet
    shared = _lrs(tmp_path / 'list', warmup)
    assert [step['mnet_a3.lr'] for step in shared] == pytest.approx(
        [0.01, 0.04, 0.07, 0.1])


# ------------------------------------------ the study's reading script
def _write_unit(root, run, final, params_ratio, top1, scalars):
    import json

    import numpy as np
    unit = root / run / 'seed0'
    (unit / '20260101_000000' / 'vis_data').mkdir(parents=True)
    np.savez(unit / 'p_history.npz', step=np.array([100, 200]),
             round=np.array([2, 4]),
             **{'p/layer1': np.array([[0.9, 0.9], final[:2]]),
                'p/layer2': np.array([[0.9, 0.9], final[2:]])})
    (unit / 'result.json').write_text(json.dumps(dict(
        top1=top1, pruned=dict(delta=dict(
            threshold=1e-3, params_ratio=params_ratio, top1=top1 - 0.5)))))
    (unit / '20260101_000000' / 'vis_data' / 'scalars.json').write_text(
        '\n'.join(json.dumps(r) for r in scalars))


def test_reading_script_prints_the_table_of_a_synthetic_archive(tmp_path):
    _write_unit(tmp_path, 'astronet', [0.9, 0.95, 1.0, 0.95], 1.0, 91.5,
                [dict(step=60, phase=3, loss=1.0, e_t=2e-3),
                 dict(step=80, phase=3, loss=0.9, e_t=5e-4),
                 dict(step=5, **{'accuracy/top1': 91.5})])
    _write_unit(tmp_path, 'manet_p05', [0.5, 1e-4, 0.5, 0.2], 0.9, 90.25,
                [dict(step=60, phase=3, loss=1.0, loss_reg=0.08),
                 dict(step=80, phase=3, loss=0.9, loss_reg=4e-5)])
    # a second pruning unit that removes less: not the best
    _write_unit(tmp_path, 'manet_warmup1e', [1e-4, 0.9, 0.9, 0.9], 0.95,
                92.0, [dict(step=60, phase=3, loss=1.0, loss_reg=0.1)])
    lines = run_tool('benchmarks/paper_mode_sensitivity.py', '--root',
                     str(tmp_path)).stdout.splitlines()
    rows = read_study(str(tmp_path))
    assert lines[-1] == ('paper_sensitivity: units=3 '
                         'max_share_below_delta=0.2500 '
                         'best_variant=manet_p05')
    table = {line.split(' | ')[0][2:]: line.split(' | ')
             for line in lines if line.startswith('| ') and '---' not in line}
    # variant | mean | std | share | kept | top-1 | at delta | e^t | L_reg
    assert table['astronet'][1:] == [
        '0.9500', '0.0354', '0.0000', '1.0000', '91.50', '91.00', '0.0005',
        '- |']
    assert table['manet_p05'][1:] == [
        '0.3000', '0.2121', '0.2500', '0.9000', '90.25', '89.75', '-',
        '4e-05 |']
    assert rows['manet_p05']['std_p'] == pytest.approx(
        float(torch.tensor([0.5, 1e-4, 0.5, 0.2]).std(unbiased=False)))


def test_reading_script_names_a_unit_without_the_delta_prune(tmp_path):
    import json
    _write_unit(tmp_path, 'astronet', [0.9] * 4, 1.0, 91.5, [])
    result = tmp_path / 'astronet' / 'seed0' / 'result.json'
    result.write_text(json.dumps(dict(top1=91.5, pruned={})))
    with pytest.raises(KeyError, match=r"astronet/seed0/result.json.*'delta'"):
        read_study(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='no unit'):
        read_study(str(tmp_path / 'empty'))
