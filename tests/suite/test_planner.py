"""tools/run_suite.py SUITE --plan: the cost planner, on the CPU, with no
dataset on disk.

Every run of every suite of configs/suites is planned (its config parsed
with its options, its schedule and phases computed, its cost projected)
with tiny synthetic shapes (batch 2, 32 px images for the classifiers,
64 px for the detectors) and one step per phase of Algorithm 1. Configs
that differ only in sizes and numbers (depth, width, lambda, the number of
astrocytes, the schedule, the seed) or in the checkpoint they load run the
same code: each such code path is built and stepped once, at its smallest
size, and its speed stands in for the others' (the test checks the
projection, not the speed).
"""
import glob
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import BaseDataset

from astro_mm.suite import SuiteRunner, load_suite
from astro_mm.suite.planner import (CostPlanner, PlanError, Schedule,
                                    dataset_facts, phase_iterations,
                                    plan_to_markdown, schedule_of,
                                    without_geometry)
from astro_mm.engine import AlternationHook
from conftest import ROOT

SUITES = sorted(glob.glob(osp.join(ROOT, 'configs', 'suites', '[!_]*.py')))
CIFAR_MANET = 'configs/manet/manet-m4-k6_resnet18-cifar_8xb16-200e_cifar10.py'


def _code_path(value, key=None) -> frozenset:
    """What decides which code a config's step runs: its component types
    and other string settings (AN shape, descriptor, ...), without numbers,
    size presets (``arch``), checkpoints or I/O backends. Configs with equal
    code paths differ in sizes and hyperparameters only."""
    if isinstance(value, dict):
        return frozenset().union(*[
            _code_path(v, k) for k, v in value.items()
            if k not in ('init_cfg', 'widths', 'checkpoint', 'arch',
                         'backend', 'imdecode_backend', 'round_unit')])
    if isinstance(value, (list, tuple)):
        return frozenset().union(*[_code_path(v, key) for v in value])
    if isinstance(value, str):
        return frozenset([(key, value)])
    return frozenset()


def _step_key(planner, run, cfg) -> tuple:
    """Runs with equal keys take the same code in a smoke-test step: the
    task, the phases of Algorithm 1 in their schedules, and the code path
    of model, hooks, optimizer and the pipeline as the smoke test runs it
    (without resizes, crops and file loading)."""
    pipeline = [t for t in without_geometry(
        cfg.train_dataloader.dataset.get('pipeline', []))
        if 'LoadImage' not in t['type']]
    _, phases = planner.schedule(cfg, run.config)
    return run.task, tuple(phases), _code_path(dict(
        model=cfg.model, hooks=cfg.get('custom_hooks'), pipeline=pipeline,
        optim_wrapper=cfg.optim_wrapper))


# small networks first, so that a code path is stepped at its cheapest
# size (ResNet-18 before WRN-50, the demo detectors before COCO's R-50)
SMALL_FIRST = sorted(SUITES, key=lambda s: not re.search(
    r'demo|fashion|budget|tab10|tab11|tab12', osp.basename(s)))


@pytest.fixture(scope='module')
def plans(tmp_path_factory):
    """Every suite planned in this process, from an empty folder (no data
    root a config names exists there), with dataset construction
    forbidden."""
    built = []
    original = BaseDataset.__init__

    def forbidden(self, *args, **kwargs):
        built.append(type(self).__name__)
        raise AssertionError(f'the planner built a dataset: {type(self)}')

    cwd = os.getcwd()
    threads = torch.get_num_threads()
    # one thread: two on a shared 2-core machine oversubscribe it and
    # make each step many times slower
    torch.set_num_threads(1)
    os.chdir(tmp_path_factory.mktemp('empty'))
    BaseDataset.__init__ = forbidden
    cache, stepped, results = {}, {}, {}
    try:
        for suite in SMALL_FIRST:
            cfg = load_suite(suite, root=ROOT)
            # runs in the test's folder, not a shared work_dirs/ that an
            # earlier suite run (make demo) may have filled
            cfg.suite.runs_root = None
            runner = SuiteRunner(cfg, str(tmp_path_factory.mktemp('plan')),
                                 ROOT, log=lambda m: None)
            planners = {
                task: CostPlanner(runner, iters=1, warmup=0, batch_size=2,
                                  image_size=32 if task == 'cls' else 64,
                                  isolate=False, cache=cache,
                                  log=lambda m: None)
                for task in ('cls', 'det')
            }
            rows = []
            for run in cfg.runs:
                planner = planners[run.task]
                run_cfg, _ = planner.run_config(run, run.seeds[0])
                structure = _step_key(planner, run, run_cfg)
                key = planner.measurement_key(run, run_cfg)
                if structure in stepped:
                    cache.setdefault(key, stepped[structure])
                rows.append(planner.plan_run(run))
                stepped.setdefault(structure, cache[key])
            results[osp.basename(suite)] = dict(
                runner=runner, rows=rows,
                plan=dict(suite=cfg.suite.name, title=cfg.suite.title,
                          device='cpu', device_description='CPU (test)',
                          timed_iters=1, warmup_iters=0,
                          memory_method='test', load_average=[0, 0, 0],
                          smoke_test=dict(batch_size=2),
                          rows=rows, total_device_hours=sum(
                              r['device_hours'] for r in rows)))
    finally:
        BaseDataset.__init__ = original
        os.chdir(cwd)
        torch.set_num_threads(threads)
    return dict(results=results, stepped=stepped, built=built)


def test_every_suite_is_planned_without_any_dataset(plans):
    assert plans['built'] == []
    assert set(plans['results']) == {osp.basename(s) for s in SUITES}
    for name, result in plans['results'].items():
        runs = result['runner'].cfg.runs
        assert [r['run'] for r in result['rows']] == [r.name for r in runs]
        for row in result['rows']:
            assert row['it_per_s'] > 0, (name, row['run'])
            assert row['iters_per_device'] > 0, (name, row['run'])
            assert sum(row['phase_iters'].values()) == \
                row['iters_per_device']
            assert set(row['phase_seconds']) == set(row['phase_iters'])
            assert all(s > 0 for s in row['phase_seconds'].values())
            assert row['peak_memory_mb'] >= 0
            # every astro run's Phi-steps are part of its cost
            if row['method'] in ('astronet', 'manet') and \
                    row['task'] == 'cls':
                assert {'phi', 'batch'} & set(row['phase_iters']), row


def test_every_model_structure_took_a_training_step(plans):
    # the classifiers, their astro variants (Phi-steps too) and the four
    # detectors
    stepped = plans['stepped']
    assert len(stepped) >= 20
    tasks = [key[0] for key in stepped]
    assert tasks.count('det') == 4
    phases = [set(m.seconds) for m in stepped.values()]
    assert {'warmup', 'phi', 'tnet'} in phases  # paper mode, epoch rounds
    assert {'warmup', 'batch'} in phases  # budget-aware, per batch
    shapes = {m.input_shape for m in stepped.values()}
    assert {'2x3x32x32', '2x1x32x32', '2x3x64x64',
            '2 views of 2x3x32x32'} <= shapes


def test_projected_hours_are_iterations_over_speed_times_seeds(plans):
    for result in plans['results'].values():
        for row in result['rows']:
            steps = row['iters_per_device'] * row['devices']
            finetune = row['finetune_iters_per_device'] * row['devices']
            unmodulated = next(row['phase_seconds'][p] for p in
                               ('warmup', 'tnet', 'batch', 'phi')
                               if p in row['phase_seconds'])
            per_seed = (steps / row['it_per_s'] +
                        finetune * unmodulated) / 3600
            assert row['device_hours_per_seed'] == pytest.approx(per_seed)
            assert row['device_hours'] == pytest.approx(
                per_seed * row['seeds'])
        plan = result['plan']
        assert plan['total_device_hours'] == pytest.approx(
            sum(r['device_hours'] for r in plan['rows']))


def test_schedule_of_the_cifar10_manet_config_by_hand(plans):
    row = next(r for r in plans['results']['manet-tab11_cifar10.py']['rows']
               if r['run'] == 'manet-m4')
    # 8 GPUs x batch 16 (8xb16), 200 epochs of CIFAR-10's 50,000 images:
    # ceil(50000 / 8) = 6250 images per GPU, ceil(6250 / 16) = 391 steps
    assert (row['devices'], row['batch_size'], row['epochs']) == (8, 16, 200)
    assert row['iters_per_epoch'] == 391
    assert row['iters_per_device'] == 200 * 391
    # R_TN = 5 warm-up epochs, then Phi in even, W(P) in odd epochs
    assert row['phase_iters'] == dict(warmup=5 * 391, phi=98 * 391,
                                      tnet=97 * 391)
    assert row['seeds'] == 5
    assert row['paper_gpu_days'] == 0.17
    hours = 200 * 391 * 8 * (5 * row['phase_seconds']['warmup'] +
                             98 * row['phase_seconds']['phi'] +
                             97 * row['phase_seconds']['tnet']) / 200 / 3600
    assert row['device_hours_per_seed'] == pytest.approx(hours)


def test_schedules_follow_the_runs_options(plans):
    results = plans['results']
    fashion = {r['run']: r for r in
               results['fashion-mnist_study.py']['rows']}
    # indices=3000, batch 64, 3 epochs, one device (1xb128)
    assert fashion['plain']['iters_per_device'] == 3 * math.ceil(3000 / 64)
    assert fashion['plain']['devices'] == 1
    demo = {r['run']: r for r in results['demo.py']['rows']}
    # each detector's max_iters in the demo suite
    assert demo['faster_rcnn_plain']['iters_per_device'] == 100
    assert demo['detr_plain']['iters_per_device'] == 20
    assert 'unpruned widths' in ' '.join(demo['detr_manet']['notes'])
    budget = {r['run']: r for r in
              results['budget-pruning_fashion-mnist.py']['rows']}
    # 4 epochs of 6,000 images at 128, then 2 fine-tune epochs per prune
    # (random / gates) and of the unpruned plain network
    assert budget['manet']['iters_per_device'] == 4 * math.ceil(6000 / 128)
    assert budget['manet']['finetune_iters_per_device'] == \
        2 * math.ceil(6000 / 128)
    assert budget['plain']['finetune_iters_per_device'] == \
        2 * 2 * math.ceil(6000 / 128)
    coco = {r['run']: r for r in results['manet-tab3_coco.py']['rows']}
    assert coco['condinst_plain']['iters_per_device'] == 90_000
    assert coco['condinst_plain']['devices'] == 8  # 16 / batch 2
    in1k = {r['run']: r for r in results['manet-tab2_in1k.py']['rows']}
    assert in1k['plain_resnet50']['iters_per_epoch'] == \
        math.ceil(math.ceil(1_281_167 / 8) / 32)


def test_markdown_names_the_cpu_and_sets_the_paper_days_beside(plans):
    table = plan_to_markdown(plans['results']['manet-tab11_cifar10.py']
                             ['plan'])
    assert 'A CPU projection' in table and 'Smoke test' in table
    beside = table.split('## Beside the papers')[1]
    assert re.search(r'\| astronet \| 0\.07 \|', beside)
    assert re.search(r'\| manet-m4 \| 0\.17 \|', beside)
    assert '| **total** |' in table


def test_phases_of_iteration_and_batch_rounds():
    schedule = Schedule(devices=1, devices_from='test', batch_size=2,
                        iters=1050)
    # rounds of 100 iterations, R_TN = 2: 200 warm-up, then 300 (round 3,
    # W(P)), ... the last round has 50
    rounds = AlternationHook(round_unit='iter', round_interval=100)
    assert phase_iterations(schedule, rounds, 2) == dict(
        warmup=200, phi=400, tnet=450)
    per_batch = AlternationHook(round_unit='iter', round_interval=100,
                                alternation='per_batch')
    assert phase_iterations(schedule, per_batch, 2) == dict(
        warmup=200, batch=850)
    # the former round_unit='batch' reads as the same schedule
    legacy = AlternationHook(round_unit='batch', round_interval=100)
    assert (legacy.round_unit, legacy.alternation) == ('iter', 'per_batch')
    assert phase_iterations(schedule, legacy, 2) == dict(
        warmup=200, batch=850)
    # an epoch-based hook under an iteration-based loop never leaves round 1
    epochs = AlternationHook(round_unit='epoch')
    assert phase_iterations(schedule, epochs, 2) == dict(warmup=1050)


def test_unknown_training_set_is_an_error_naming_the_key():
    with pytest.raises(PlanError, match=r"train_dataloader.dataset: .*"
                       r"type='CustomDataset'"):
        dataset_facts(dict(type='CustomDataset', data_root='data/mine'))
    cfg = Config(dict(train_dataloader=dict(batch_size=4, dataset=dict(
        type='CIFAR10')), train_cfg=dict(val_interval=1)))
    with pytest.raises(PlanError, match='neither max_epochs nor max_iters'):
        schedule_of(cfg, 'x_1xb4-1e_cifar.py')
    facts, images = dataset_facts(dict(
        type='RepeatDataset', times=3,
        dataset=dict(type='mmpretrain.CIFAR10', indices=1000)))
    assert (facts.name, images) == ('CIFAR-10', 3000)
    for part, expected in (('fit', 55_000), ('holdout', 5_000)):
        facts, images = dataset_facts(dict(
            type='astro_mm.HoldOutSubset', part=part, holdout=5000,
            dataset=dict(type='FashionMNIST', split='train')))
        assert (facts.name, images) == ('Fashion-MNIST', expected)


SUITE = """
suite = dict(name='plan-cli', title='plan CLI', seeds=[0, 1])
runs = [dict(name='plain', task='cls', method='plain', label='R18',
             config='configs/resnet/resnet18-cifar_8xb16-200e_cifar10.py',
             paper=dict(gpu_days=0.5))]
"""


def test_plan_command_writes_the_table_from_a_fresh_process(tmp_path):
    """The command line, and a run measured in its own process (the
    default: memory of its own)."""
    suite = tmp_path / 'plan_cli.py'
    suite.write_text(SUITE)
    work = tmp_path / 'work'
    proc = subprocess.run(
        [sys.executable, 'tools/run_suite.py', str(suite), '--plan',
         '--work-dir', str(work), '--plan-iters', '1', '--plan-warmup', '0',
         '--plan-batch-size', '2', '--plan-image-size', '32'],
        cwd=ROOT, capture_output=True, text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    plan = json.loads((work / 'plan.json').read_text())
    table = (work / 'plan.md').read_text()
    row, = plan['rows']
    assert plan['device'] == 'cpu' and 'fresh process' in \
        plan['memory_method']
    assert row['iters_per_device'] == 78_200 and row['seeds'] == 2
    assert row['peak_memory_mb'] > 0  # its own process: the build counts
    assert row['device_hours'] == pytest.approx(
        2 * 78_200 * 8 / row['it_per_s'] / 3600)
    assert '| plain | 2x3x32x32 | 8 x 16 |' in table
    assert 'Beside the papers' in table and table in proc.stdout
