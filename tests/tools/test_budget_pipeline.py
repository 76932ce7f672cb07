"""The budget-aware mode through the tools, as a user runs them:
tools/train.py (also with --amp) -> tools/prune.py (gates, recalibration,
a fine-tuning config) -> tools/train.py on that config -> tools/test.py;
and a baseline pruner on a plain network."""
import json

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from astro_mm.apis import pruned_config
from astro_mm.compat import load_checkpoint_file
from conftest import ROOT, read_metrics, run_tool
from helpers import prune_in_process

TINY_BUDGET_MANET = """
_base_ = '{root}/configs/manet/manet_resnet18_1xb64-3e_demo-cifar.py'
data_root = '{data}'
train_dataloader = dict(
    batch_size=16, dataset=dict(data_root=data_root),
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True))
val_dataloader = dict(batch_size=32, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=12, val_interval=1000)
param_scheduler = []
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=12),
                     logger=dict(interval=1))
log_processor = dict(by_epoch=False)
custom_hooks = [
    dict(type='astro_mm.AlternationHook', round_unit='{unit}', round_interval=3)
]
model = dict(warmup_rounds=1, budget={budget})
optim_wrapper = dict(mnet=dict(optimizer=dict(_delete_=True, type='AdamW',
                                              lr=3e-3)))
"""


def _write(tmp_path, demo_root, name, unit='batch', budget='dict(target=0.6)'):
    config = tmp_path / f'{name}.py'
    config.write_text(TINY_BUDGET_MANET.format(
        root=ROOT, data=demo_root / 'demo_cifar', unit=unit, budget=budget))
    return config


def _prune(config, checkpoint, out, **options):
    """tools/prune.py's flow in this process, as the CLI runs it."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return prune_in_process(config, checkpoint, out, **options)


def _log_values(work_dir, key):
    logs = list(work_dir.glob('*/vis_data/scalars.json'))
    assert logs, f'no scalars.json under {work_dir}'
    values = []
    for line in logs[0].read_text().splitlines():
        record = json.loads(line)
        if key in record:
            values.append(record[key])
    return values


@pytest.fixture(scope='module')
def budget_run(demo_root, tmp_path_factory):
    work = tmp_path_factory.mktemp('budget')
    config = _write(work, demo_root, 'tiny_budget_manet')
    run_tool('tools/train.py', str(config), '--work-dir', str(work / 'train'))
    return dict(config=config, work=work,
                checkpoint=work / 'train' / 'iter_12.pth')


def test_batch_rounds_step_phi_and_w_on_every_batch(budget_run):
    phases = _log_values(budget_run['work'] / 'train', 'phase')
    assert phases[:3] == [0.0] * 3 and set(phases[3:]) == {3.0}
    ratios = _log_values(budget_run['work'] / 'train', 'kept_ratio')
    assert all(0 < r <= 1 for r in ratios)
    # Phi-steps moved the gates' cost under the full network's
    assert min(ratios) < 1.0


def test_prune_writes_a_config_that_fine_tunes(budget_run, demo_root):
    work = budget_run['work']
    out = work / 'pruned' / 'manet.pth'
    proc = run_tool('tools/prune.py', str(budget_run['config']),
                    str(budget_run['checkpoint']), '--out', str(out),
                    '--recalibrate-batches', '2', '--latency-repeats', '1',
                    '--input-size', '32', '--finetune-epochs', '1',
                    '--finetune-lr', '0.01')
    assert 'threshold 0.5' in proc.stdout  # the budget mode's gate threshold
    report = json.loads(out.with_suffix('.json').read_text())
    assert report['recalibrated_batches'] == 2
    pruned_cfg = Config.fromfile(str(out.with_suffix('.py')))
    hooks = [str(h['type']) for h in pruned_cfg.custom_hooks]
    assert not any('Alternation' in h or 'ProbabilityHistory' in h
                   for h in hooks)
    assert pruned_cfg.load_from == str(out)
    assert pruned_cfg.model.backbone.type == 'astro_mm.PrunedBackbone'
    pruned = load_checkpoint_file(str(out))['state_dict']
    # fine-tune: tools/train.py on the written config, from the pruned weights
    ft_dir = work / 'finetune'
    run_tool('tools/train.py', str(out.with_suffix('.py')), '--work-dir',
             str(ft_dir))
    logs = ''.join(p.read_text() for p in ft_dir.glob('*/*.log'))
    assert f'Load checkpoint from {out}' in logs
    tuned = load_checkpoint_file(str(ft_dir / 'epoch_1.pth'))['state_dict']
    assert set(tuned) == set(pruned)
    assert all(tuned[k].shape == pruned[k].shape for k in pruned)
    assert any(not torch.equal(tuned[k], pruned[k]) for k in pruned
               if k.endswith('.weight'))
    test_dir = work / 'finetune_test'
    run_tool('tools/test.py', str(out.with_suffix('.py')),
             str(ft_dir / 'epoch_1.pth'), '--work-dir', str(test_dir))
    # the record is the fine-tuned network's, on the test data
    record = read_metrics(test_dir)
    assert record['checkpoint'] == str(ft_dir / 'epoch_1.pth')
    assert record['split'] == 'test' and 'top1' in record['summary']['cls']


def test_amp_runs_an_astro_config_across_a_phase_change(demo_root, tmp_path):
    # paper mode, rounds of 3 iterations: warm-up, a Phi-round, a W-round
    config = _write(tmp_path, demo_root, 'tiny_amp', unit='iter',
                    budget='None')
    proc = run_tool('tools/train.py', str(config), '--amp', '--work-dir',
                    str(tmp_path / 'amp'), '--cfg-options',
                    'train_cfg.max_iters=9',
                    'default_hooks.checkpoint.interval=9')
    phases = _log_values(tmp_path / 'amp', 'phase')
    assert phases == [0.0] * 3 + [2.0] * 3 + [1.0] * 3
    losses = _log_values(tmp_path / 'amp', 'loss')
    assert all(torch.isfinite(torch.tensor(losses)))
    assert 'AutocastOptimWrapper' in proc.stdout + proc.stderr + ''.join(
        p.read_text() for p in (tmp_path / 'amp').glob('*/*.log'))
    state = load_checkpoint_file(str(tmp_path / 'amp' / 'iter_9.pth'))
    assert state['state_dict']['cached_probs'].dtype == torch.float32
    assert set(state['optimizer']) >= {'tnet', 'mnet', 'mnet_a1'}


def test_pruned_config_fine_tunes_in_the_training_precision():
    """An astro run's fine-tune keeps the TNet wrapper's type and dtype
    (given once for both nets, as --amp does, or in ``tnet``)."""
    cfg = Config.fromfile(
        f'{ROOT}/configs/manet/'
        'manet-budget60_resnet20-cifar-s2_1xb128-4e_fashion-mnist.py')
    sgd = cfg.optim_wrapper.tnet.optimizer
    widths = {}
    plain = pruned_config(cfg, widths, 'pruned.pth', 1, 0.01)
    assert plain.optim_wrapper.type == 'OptimWrapper'
    assert 'dtype' not in plain.optim_wrapper
    cfg.optim_wrapper.type = 'astro_mm.AutocastOptimWrapper'
    cfg.optim_wrapper.dtype = 'bfloat16'
    amp = pruned_config(cfg, widths, 'pruned.pth', 1, 0.01)
    assert amp.optim_wrapper.type == 'astro_mm.AutocastOptimWrapper'
    assert amp.optim_wrapper.dtype == 'bfloat16'
    assert amp.optim_wrapper.optimizer.type == sgd.type == 'SGD'
    assert amp.optim_wrapper.optimizer.lr == 0.01
    # the wrapper's float32 fallback switch is a shared setting too
    cfg.optim_wrapper.float32_if_emulated = False
    assert pruned_config(cfg, widths, 'pruned.pth', 1, 0.01
                         ).optim_wrapper.float32_if_emulated is False
    cfg.optim_wrapper.tnet.dtype = 'float32'  # the TNet's own wins
    assert pruned_config(cfg, widths, 'pruned.pth', 1,
                         0.01).optim_wrapper.dtype == 'float32'


def test_baseline_pruner_and_unpruned_finetune_from_a_plain_config(
        cls_checkpoint, tmp_path):
    from conftest import PRETRAIN_CONFIG
    out = tmp_path / 'l1.pth'
    run_tool('tools/prune.py', PRETRAIN_CONFIG, cls_checkpoint, '--method',
             'l1', '--param-budget', '0.6', '--out', str(out),
             '--recalibrate-batches', '0', '--latency-repeats', '1',
             '--input-size', '32')
    report = json.loads(out.with_suffix('.json').read_text())
    assert abs(report['params_ratio'] - 0.6) <= 0.02
    assert report['method'] == 'l1' and report['threshold'] is None
    # the rest in this process: tools/prune.py's flow, as the CLI runs it
    none = tmp_path / 'none.pth'
    options = dict(recalibrate_batches=0, latency_repeats=1, input_size=32)
    report = _prune(PRETRAIN_CONFIG, cls_checkpoint, str(none),
                    method='none', **options)
    with pytest.raises(ValueError, match='--method'):
        # a plain config names its baseline
        _prune(PRETRAIN_CONFIG, cls_checkpoint, str(none), **options)
    assert report['params_ratio'] == 1.0
    plain = load_checkpoint_file(cls_checkpoint)['state_dict']
    kept = load_checkpoint_file(str(none))['state_dict']
    assert all(torch.equal(kept[k], plain[k]) for k in kept)


def test_a_baseline_prunes_an_astro_network_with_p_folded_in(budget_run):
    """The control of the studies: a standard pruner on the trained astro
    network (P folded into its weights), at the budget; at budget 1.0 it
    removes nothing and is exactly the unpruned astro export."""
    work = budget_run['work']
    trained = str(budget_run['config']), str(budget_run['checkpoint'])
    options = dict(recalibrate_batches=0, latency_repeats=1, input_size=32)
    report = _prune(*trained, str(work / 'random60.pth'), method='random',
                    budget=0.6, **options)
    full = _prune(*trained, str(work / 'random100.pth'), method='random',
                  budget=1.0, **options)
    folded = _prune(*trained, str(work / 'astro_t0.pth'), threshold=0.,
                    **options)
    assert report['method'] == 'random'
    assert abs(report['params_ratio'] - 0.6) <= 0.02
    assert full['params_ratio'] == folded['params_ratio'] == 1.0
    random_all = load_checkpoint_file(str(work / 'random100.pth'))
    astro_all = load_checkpoint_file(str(work / 'astro_t0.pth'))
    assert set(random_all['state_dict']) == set(astro_all['state_dict'])
    for key, value in astro_all['state_dict'].items():
        assert torch.equal(random_all['state_dict'][key], value), key
