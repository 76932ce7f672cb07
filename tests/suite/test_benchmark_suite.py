"""tools/run_suite.py: a tiny suite end to end, killed and resumed."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from astro_mm.suite import SuiteConfigError, load_suite
from conftest import ROOT, demo_coco_options

SUITE = """
suite = dict(name='tiny', title='tiny suite', seeds=[0], input_size=32,
             finetune=dict(epochs=1, lr=0.01))
cifar = ['train_dataloader.dataset.data_root={cifar}',
         'val_dataloader.dataset.data_root={cifar}',
         'test_dataloader.dataset.data_root={cifar}',
         'train_dataloader.batch_size=32', 'train_cfg.max_epochs=2',
         'param_scheduler.1.T_max=2', 'default_hooks.logger.interval=1']
runs = [
    dict(name='plain', task='cls', method='plain', label='R18',
         config='configs/resnet/resnet18_1xb64-3e_demo-cifar.py',
         cfg_options=cifar, paper=dict(top1=94.96, params_M=11.17)),
    dict(name='manet', task='cls', method='manet', label='R18',
         config='configs/manet/manet_resnet18_1xb64-3e_demo-cifar.py',
         cfg_options=cifar + ['model.warmup_rounds=1',
                              'custom_hooks.0.round_interval=2'],
         prune=dict(b70=dict(param_budget=0.7,
                             paper=dict(top1=96.81, params_M=6.94)))),
    dict(name='frcnn_manet', task='det', method='manet', label='Faster R-CNN',
         config='configs/faster_rcnn/faster-rcnn_r18-manet_fpn_200i_demo-coco.py',
         backbone='manet:b70', metric='bbox', cfg_options={coco},
         paper=dict(AP=39.8)),
]
"""


def _write_suite(path, demo_root):
    coco = demo_coco_options(demo_root, iters=1)
    path.write_text(SUITE.format(cifar=demo_root / 'demo_cifar', coco=coco))
    return str(path)


def _run_suite(suite, work_dir, **popen):
    return subprocess.Popen(
        [sys.executable, 'tools/run_suite.py', suite, '--work-dir',
         str(work_dir)], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True, **popen)


def test_suite_killed_after_first_run_resumes_without_recomputing(
        demo_root, tmp_path):
    suite = _write_suite(tmp_path / 'tiny_suite.py', demo_root)
    work = tmp_path / 'work'
    first = work / 'plain' / 'seed0' / 'result.json'

    # a crash (SIGKILL of the whole process group) right after run 1
    proc = _run_suite(suite, work)
    deadline = time.time() + 600
    while not first.is_file():
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < deadline, 'run 1 did not finish in 10 minutes'
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (work / 'table.md').exists()
    stamp, content = first.stat().st_mtime_ns, first.read_text()

    proc = _run_suite(suite, work)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out
    assert '3 units (1 finished before, 2 to run)' in out
    assert first.stat().st_mtime_ns == stamp  # not recomputed
    assert first.read_text() == content

    table = json.loads((work / 'table.json').read_text())
    rows = {(r['run'], r.get('variant')): r for r in table['rows']}
    assert set(rows) == {('plain', 'trained'), ('manet', 'trained'),
                         ('manet', 'pruned b70'), ('frcnn_manet', None)}
    plain, trained = rows['plain', 'trained'], rows['manet', 'trained']
    pruned = rows['manet', 'pruned b70']
    # the table's row is the unit's measured top-1, one seed
    assert plain['top1'] == dict(mean=json.loads(first.read_text())['top1'],
                                 std=0.0, n=1)
    assert plain['paper'] == dict(top1=94.96, params_M=11.17)
    # the TNet only (no modulator) and a real cut
    assert trained['params_M'] == pytest.approx(plain['params_M'])
    assert pruned['params_M'] < 0.8 * trained['params_M']
    assert pruned['flops_G'] < trained['flops_G']
    assert pruned['paper'] == dict(top1=96.81, params_M=6.94)
    det = rows['frcnn_manet', None]
    assert det['backbone'] == 'manet:b70' and 'AP50' in det
    # the detector really holds the pruned backbone
    result = json.loads(
        (work / 'frcnn_manet' / 'seed0' / 'result.json').read_text())
    # ... fine-tuned after pruning (the suite's fine-tune), widths from the
    # pruned export
    assert result['backbone_checkpoint'].endswith(
        'pruned_b70_finetuned/epoch_1.pth')
    assert result['backbone_params_M'] < plain['params_M']
    assert pruned['top1_finetuned']['n'] == 1
    manet = json.loads(
        (work / 'manet' / 'seed0' / 'result.json').read_text())
    assert manet['pruned']['b70']['finetuned_checkpoint'] == \
        result['backbone_checkpoint']
    frcnn_cfg = (work / 'frcnn_manet' / 'seed0' / 'train.log').read_text()
    assert 'pruned_b70.pth' in frcnn_cfg  # the widths' source

    markdown = (work / 'table.md').read_text()
    assert '| R18 | MA-Net | pruned b70 |' in markdown
    assert '96.81' in markdown and 'Faster R-CNN' in markdown
    csv_header = (work / 'table.csv').read_text().splitlines()[0]
    assert 'top1_mean' in csv_header and 'paper_top1' in csv_header
    for figure in ('params_vs_accuracy.png', 'gradcam.png'):
        assert (work / 'figures' / figure).stat().st_size > 10_000


def test_bad_suite_configs_name_the_key(tmp_path):
    good = ("suite = dict(name='x')\nruns = [dict(name='a', task='cls', "
            "method='plain', config='configs/resnet/"
            "resnet18_1xb64-3e_demo-cifar.py')]\n")
    path = tmp_path / 'suite.py'
    path.write_text(good)
    assert load_suite(str(path), ROOT).runs[0].seeds == [0]
    cases = {
        "method='plain'": ("method='magic'", 'method must be one of'),
        "task='cls'": ("task='seg'", 'task must be one of'),
        "resnet18_1xb64": ('resnet99_1xb64', 'does not exist'),
        "name='a', ": ('', "missing key 'name'"),
    }
    for old, (new, message) in cases.items():
        path.write_text(good.replace(old, new))
        with pytest.raises(SuiteConfigError, match=message) as err:
            load_suite(str(path), ROOT)
        assert str(path) in str(err.value)
    path.write_text(good.replace(
        ']\n', ", dict(name='d', task='det', method='plain', config="
        "'configs/faster_rcnn/faster-rcnn_r18_fpn_200i_demo-coco.py', "
        "backbone='nope')]\n"))
    with pytest.raises(SuiteConfigError, match="'nope' is not an earlier"):
        load_suite(str(path), ROOT)


@pytest.mark.parametrize('old, new, message', [
    # a typo in suite: it used to run seed 0 without a word
    ("name='x')", "name='x', seed=[1, 2])",
     r"suite: unknown keys \['seed'\] \(did you mean 'seed' -> 'seeds'\?\); "
     r"allowed: \[.*'input_size', .*'name', .*'prepare', 'runs_root', "
     r"'seeds', .*'summary', 'title'.*\]"),
    # the right key, at the wrong level
    ("name='x')\n", "name='x')\nseeds = [1, 2]\n",
     r"seeds: a suite setting at the top level of the file is ignored; put "
     r"it inside suite=dict"),
    ("method='plain'", "method='plain', seed=[3]",
     r"runs\[0\] \(a\): unknown keys \['seed'\] .*'seeds'.*allowed:"),
    # a prune spec's keys are listed too, coupled among them
    ("method='plain'", "method='plain', prune=dict(c=dict(param_budget=0.6, "
     "couple=True))",
     r"runs\[0\] \(a\)\.prune\.c: unknown keys \['couple'\] \(did you "
     r"mean 'couple' -> 'coupled'\?\); allowed: \['budget', 'coupled', "
     r"'finetune', 'measure', 'method', 'paper', 'param_budget', 'rank', "
     r"'threshold'\]"),
    ("method='plain'", "method='plain', prune=dict(c=dict(param_budget=0.6, "
     "coupled='yes'))", r"coupled must be True or False, got 'yes'"),
])
def test_unknown_suite_keys_are_refused_with_the_valid_ones(
        tmp_path, old, new, message):
    good = ("suite = dict(name='x')\nruns = [dict(name='a', task='cls', "
            "method='plain', config='configs/resnet/"
            "resnet18_1xb64-3e_demo-cifar.py')]\n")
    path = tmp_path / 'suite.py'
    path.write_text(good.replace(old, new))
    assert new in path.read_text()
    with pytest.raises(SuiteConfigError, match=message) as err:
        load_suite(str(path), ROOT)
    assert str(path) in str(err.value)


def test_every_suite_config_of_the_repo_loads():
    suites = [f for f in os.listdir(os.path.join(ROOT, 'configs', 'suites'))
              if f.endswith('.py') and not f.startswith('_')]
    assert len(suites) >= 15
    for name in suites:
        cfg = load_suite(os.path.join(ROOT, 'configs', 'suites', name), ROOT)
        assert cfg.runs, name


def _one_run_suite(tmp_path, text):
    """A suite config written from ``text``, and a quiet runner for it."""
    from astro_mm.suite.runner import SuiteRunner
    path = tmp_path / 'suite.py'
    path.write_text(text)
    cfg = load_suite(str(path), ROOT)
    return path, cfg, SuiteRunner(cfg, str(tmp_path / 'work'), ROOT,
                                  log=lambda message: None)


def test_a_coupled_prune_spec_runs_the_prune_tool_with_coupled(tmp_path):
    from astro_mm.suite.runner import ToolError
    _, cfg, runner = _one_run_suite(
        tmp_path,
        "suite = dict(name='x')\nruns = [dict(name='a', task='cls', "
        "method='plain', config='configs/resnet/"
        "resnet18_1xb64-3e_demo-cifar.py', prune=dict(c=dict("
        "param_budget=0.6, method='l1', coupled=True)))]\n")
    calls = []

    def tool(args, log_file):
        calls.append(args)
        raise ToolError('recorded')

    runner._tool = tool
    run = cfg.runs[0]
    with pytest.raises(ToolError, match='recorded'):
        runner._prune(run, 'c', run.prune.c, 'plain.pth', str(tmp_path), [],
                      {}, 2)
    args = calls[0]
    # the pruning's arguments reach the tool as values, in a request file
    with open(args[args.index('--request') + 1]) as f:
        request = json.load(f)
    assert args[0] == 'tools/prune.py' and request['coupled'] is True
    assert request['method'] == 'l1'
    assert request['budget'] == 0.6
    assert request['measure'] == 'params'
    # the unit's seed, so that random's channels differ between seeds
    assert request['seed'] == 2


def test_prune_specs_take_a_budget_in_either_measure_and_a_ranking_rule(
        tmp_path):
    """budget / measure / rank reach tools/prune.py as given;
    param_budget is budget in parameters; bad values name the tag."""
    _, cfg, runner = _one_run_suite(
        tmp_path,
        "suite = dict(name='x')\nruns = [dict(name='a', task='cls', "
        "method='plain', config='configs/resnet/"
        "resnet18_1xb64-3e_demo-cifar.py', prune=dict("
        "f60=dict(budget=0.6, measure='flops', method='l1', rank='cost'), "
        "p40=dict(param_budget=0.4, method='taylor'), "
        "early=dict(method='early')))]\n")
    prune = cfg.runs[0].prune
    f60 = runner.prune_args(prune.f60, 1)
    assert f60 == ['--budget', '0.6', '--measure', 'flops', '--method', 'l1',
                   '--rank', 'cost', '--seed', '1']
    assert runner.prune_args(prune.p40, 0)[:4] == [
        '--budget', '0.4', '--measure', 'params']
    assert runner.prune_args(prune.early, 0) == ['--method', 'early',
                                                  '--seed', '0']
    for bad, message in [
            ("budget=0.6, measure='macs'", "measure must be one of"),
            ("budget=0.6, rank='mean'", "rank must be one of"),
            ("budget=0.6, threshold=0.5", "exactly one of threshold"),
            ("method='early', budget=0.6", "takes no budget"),
            ("param_budget=0.6, measure='flops'", "param_budget is a budget"),
    ]:
        path = tmp_path / 'bad.py'
        path.write_text(
            "suite = dict(name='x')\nruns = [dict(name='a', task='cls', "
            "method='plain', config='configs/resnet/"
            f"resnet18_1xb64-3e_demo-cifar.py', prune=dict(t=dict({bad})))]"
            "\n")
        with pytest.raises(SuiteConfigError, match=message) as error:
            load_suite(str(path), ROOT)
        assert 'prune.t' in str(error.value)


def test_a_prune_tag_can_skip_the_suites_finetune(tmp_path):
    """The papers' delta prune is reported as pruned, not fine-tuned; the
    other tags of the same run still get the suite's fine-tune."""
    from astro_mm.suite.runner import write_json
    path, cfg, runner = _one_run_suite(
        tmp_path,
        "suite = dict(name='x', finetune=dict(epochs=1))\nruns = [dict("
        "name='a', task='cls', method='manet', config='configs/manet/"
        "manet_resnet18_1xb64-3e_demo-cifar.py', prune=dict(delta=dict("
        "threshold=1e-3, finetune=False), b60=dict(param_budget=0.6)))]\n")
    report = dict(params_before=10**6, params_after=6 * 10**5, threshold=0.5,
                  flops_after=1e9, params_ratio=0.6, flops_ratio=0.7,
                  latency={})

    def tool(args, log_file):
        out = args[args.index('--out') + 1]
        write_json(report, out[:-len('.pth')] + '.json')

    finetuned = []
    runner._tool = tool
    runner._test = lambda *args, **kwargs: dict(cls=dict(top1=80.0))
    runner._finetune = lambda config, unit_dir, name: (
        finetuned.append(name) or ('ft.pth', 85.0, None))
    run = cfg.runs[0]
    rows = {tag: runner._prune(run, tag, run.prune[tag], 'a.pth',
                               str(tmp_path), [], dict(params_M=1.0), 0)
            for tag in ('delta', 'b60')}
    assert finetuned == ['pruned_b60_finetuned']
    assert rows['delta']['top1'] == 80.0
    assert rows['delta']['top1_finetuned'] is None
    assert rows['b60']['top1_finetuned'] == 85.0
    assert rows['b60']['params_M'] == pytest.approx(0.6)
    with pytest.raises(SuiteConfigError, match='finetune must be True or '
                       'False'):
        path.write_text(path.read_text().replace('finetune=False',
                                                 "finetune='no'"))
        load_suite(str(path), ROOT)


def test_a_unit_of_another_config_is_refused_not_reused(tmp_path):
    """A finished unit records its config; after the suite's run is pointed
    at another config, its old result (and checkpoints) is refused by name,
    not reported or resumed as the new config's."""
    from astro_mm.suite.runner import write_json
    config = 'configs/resnet/resnet18_1xb64-3e_demo-cifar.py'
    path, cfg, runner = _one_run_suite(
        tmp_path, "suite = dict(name='x')\nruns = [dict(name='a', "
        f"task='cls', method='plain', config='{config}')]\n")
    runner._run_cls = lambda run, seed, previous: dict(top1=50.0)
    runner.run()
    result = runner.result('a', 0)
    assert (result['config'], result['cfg_options']) == (config, [])
    # the machine that ran it: an autocast config's precision depends on it
    import torch
    from astro_mm.engine.optimizers.autocast_optim_wrapper import \
        native_bfloat16
    assert result['machine'] == dict(
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        native_bfloat16=native_bfloat16('cpu'),
        cuda=torch.cuda.is_available())
    runner.check_unit_configs()  # the same config: accepted
    assert runner.run()['a'][0]['top1'] == 50.0

    other = config.replace('resnet18_', 'resnet18-cifar_')
    path.write_text(path.read_text().replace(config, other))
    _, _, moved = _one_run_suite(tmp_path, path.read_text())
    with pytest.raises(SuiteConfigError, match=r'unit a seed 0 .* run with '
                       rf'config {config} .* now names {other}'):
        moved.run()
    with pytest.raises(SuiteConfigError, match='cfg_options'):
        _, _, changed = _one_run_suite(tmp_path, path.read_text().replace(
            other, config).replace("config=", "cfg_options=['x=1'], config="))
        changed.check_unit_configs()
    # a result from before the config was recorded is taken as it is
    write_json(dict(top1=40.0, run='a', seed=0), runner.result_file('a', 0))
    moved.check_unit_configs()


def test_suite_cfg_options_reach_every_tool_and_are_recorded(tmp_path):
    """The suite's cfg_options go to every unit's tools after the seed and
    before the run's own (which win); a unit recorded with other suite
    options is refused, one recorded before they were recorded is taken."""
    from astro_mm.suite.runner import write_json
    config = 'configs/resnet/resnet18_1xb64-3e_demo-cifar.py'
    text = ("suite = dict(name='x', cfg_options=['optim_wrapper.dtype="
            "float32'])\nruns = [dict(name='a', task='cls', method='plain', "
            f"config='{config}', cfg_options=['train_cfg.max_epochs=1'])]\n")
    path, cfg, runner = _one_run_suite(tmp_path, text)
    run = cfg.runs[0]
    assert runner.unit_options(run, 2) == [
        'randomness.seed=2', 'optim_wrapper.dtype=float32',
        'train_cfg.max_epochs=1']
    seen = []
    runner._run_cls = lambda run, seed, previous: seen.append(
        runner.unit_options(run, seed)) or dict(top1=50.0)
    runner.run()
    assert runner.result('a', 0)['suite_cfg_options'] == [
        'optim_wrapper.dtype=float32']
    _, _, changed = _one_run_suite(tmp_path, text.replace(
        "cfg_options=['optim_wrapper.dtype=float32']", ''))
    with pytest.raises(SuiteConfigError, match="suite's cfg_options "
                       r"\['optim_wrapper.dtype=float32'\]"):
        changed.check_unit_configs()
    result = runner.result('a', 0)
    del result['suite_cfg_options']  # written before they were recorded
    write_json(result, runner.result_file('a', 0))
    changed.check_unit_configs()
    with pytest.raises(SuiteConfigError, match='suite.cfg_options'):
        _one_run_suite(tmp_path, text.replace(
            "['optim_wrapper.dtype=float32']", "'dtype'"))


def test_units_from_machines_with_and_without_bfloat16_are_flagged():
    """A study resumed on a CPU without native bfloat16 trains its autocast
    rows in float32: the report names the units of each kind."""
    from astro_mm.suite.runner import machine_mix_warning
    native = dict(native_bfloat16=True)
    results = dict(plain=[dict(seed=0, machine=native),
                          dict(seed=1, machine=native)],
                   manet=[dict(seed=0, machine=native)])
    assert machine_mix_warning(results) is None
    results['manet'].append(dict(seed=1, machine=dict(native_bfloat16=False)))
    message = machine_mix_warning(results)
    assert 'with native bfloat16: plain s0, plain s1, manet s0' in message
    assert 'without native bfloat16: manet s1' in message


def test_validation_evaluates_every_network_on_the_validation_split(
        tmp_path):
    """With the suite's ``validation``, the trained network, each pruned
    one and each fine-tuned one are also tested with ``--split val``, and
    their validation top-1 lands beside the test top-1 (which stays the
    test set's); without it no validation test runs."""
    from astro_mm.suite.runner import write_json
    text = ("suite = dict(name='x', finetune=dict(epochs=1){})\nruns = ["
            "dict(name='a', task='cls', method='plain', config='configs/"
            "resnet/resnet18_1xb64-3e_demo-cifar.py', prune=dict(f60=dict("
            "budget=0.6, measure='flops', method='l1')))]\n")
    for validation in (True, False):
        work = tmp_path / str(validation)
        work.mkdir()
        _, cfg, runner = _one_run_suite(
            work, text.format(', validation=True' if validation else ''))
        calls = []

        def tool(args, log_file):
            calls.append(args)
            if '--work-dir' in args:
                os.makedirs(args[args.index('--work-dir') + 1], exist_ok=True)
            if args[0] == 'tools/prune.py':
                out = args[args.index('--out') + 1]
                write_json(dict(params_before=10, params_after=6,
                                threshold=None, flops_after=1e6,
                                params_ratio=0.6, flops_ratio=0.6,
                                measure='flops', rank='group', latency={}),
                           out[:-len('.pth')] + '.json')
            elif args[0] == 'tools/test.py':
                split = args[args.index('--split') + 1] \
                    if '--split' in args else 'test'
                work_dir = args[args.index('--work-dir') + 1]
                write_json(dict(summary=dict(cls=dict(
                    top1=71.0 if split == 'val' else 60.0))),
                    os.path.join(work_dir, 'metrics.json'))
            else:  # tools/train.py
                work_dir = args[args.index('--work-dir') + 1]
                with open(os.path.join(work_dir, 'last_checkpoint'), 'w') as f:
                    f.write(os.path.join(work_dir, 'epoch_1.pth'))

        runner._tool = tool
        runner._complexity = lambda run, options: dict(params_M=1.0,
                                                       flops_G=1.0)
        result = runner._run_cls(cfg.runs[0], 0)
        val_tests = [c for c in calls
                     if c[0] == 'tools/test.py' and '--split' in c]
        pruned = result['pruned']['f60']
        assert result['top1'] == 60.0 and pruned['top1'] == 60.0
        assert pruned['top1_finetuned'] == 60.0
        if validation:
            # trained, pruned, fine-tuned: each once on val, in its own dir
            assert len(val_tests) == 3
            assert len({c[c.index('--work-dir') + 1]
                        for c in val_tests}) == 3
            assert result['top1_val'] == 71.0
            assert pruned['top1_val'] == 71.0
            assert pruned['top1_val_finetuned'] == 71.0
            assert pruned['measure'] == 'flops' and pruned['rank'] == 'group'
        else:
            assert val_tests == []
            assert 'top1_val' not in result and 'top1_val' not in pruned


def test_the_former_name_is_an_alias_that_warns(tmp_path):
    """tools/benchmark.py, the runner's name until issue 27, runs
    tools/run_suite.py's main with the same arguments, and says so."""
    suite = tmp_path / 'suite.py'
    suite.write_text(
        "suite = dict(name='alias', seeds=[0, 1])\n"
        "runs = [dict(name='plain', task='cls', method='plain', "
        "config='configs/resnet/resnet18_1xb64-3e_demo-cifar.py')]\n")
    procs = {
        tool: subprocess.run(
            [sys.executable, tool, str(suite), '--work-dir',
             str(tmp_path / 'work'), '--dry-run'], cwd=ROOT,
            capture_output=True, text=True, check=True)
        for tool in ('tools/benchmark.py', 'tools/run_suite.py')}
    alias, new = procs['tools/benchmark.py'], procs['tools/run_suite.py']
    assert alias.stdout == new.stdout
    assert [line.split()[:3] for line in new.stdout.splitlines()] == [
        ['plain', 'seed', '0'], ['plain', 'seed', '1']]
    assert 'DeprecationWarning: tools/benchmark.py is now ' \
        'tools/run_suite.py' in alias.stderr
    assert 'DeprecationWarning' not in new.stderr
