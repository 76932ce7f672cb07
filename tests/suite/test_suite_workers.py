"""SuiteRunner with several workers: units overlap, det units wait for
their backbone, a failure stops the suite, tools get a share of the cores."""
import threading
import time

import pytest

from astro_mm.suite import load_suite
from astro_mm.suite.runner import SuiteRunner
from conftest import ROOT

SUITE = """
suite = dict(name='w', seeds=[0, 1], workers=2)
runs = [
    dict(name='plain', task='cls', method='plain',
         config='configs/resnet/resnet18_1xb64-3e_demo-cifar.py'),
    dict(name='manet', task='cls', method='manet',
         config='configs/manet/manet_resnet18_1xb64-3e_demo-cifar.py'),
    dict(name='det', task='det', method='plain', backbone='plain',
         metric='bbox',
         config='configs/faster_rcnn/faster-rcnn_r18_fpn_200i_demo-coco.py'),
]
"""


def _runner(tmp_path, text=SUITE, **kwargs):
    path = tmp_path / 'suite.py'
    path.write_text(text)
    cfg = load_suite(str(path), ROOT)
    return SuiteRunner(cfg, str(tmp_path / 'work'), ROOT,
                       log=lambda message: None, **kwargs)


class FakeUnits:
    """Stands in for the tools: records start / end times per unit."""

    def __init__(self, runner, seconds=0.3, fail=None):
        self.runner, self.seconds, self.fail = runner, seconds, fail
        self.spans = {}
        self.lock = threading.Lock()
        runner._run_cls = self.unit
        runner._run_det = self.unit

    def unit(self, run, seed, previous=None):
        start = time.time()
        if run.task == 'det':  # its backbone's result must be written
            assert self.runner.is_done('plain', seed)
        time.sleep(self.seconds)
        if (run.name, seed) == self.fail:
            raise RuntimeError(f'{run.name} seed {seed} broke')
        with self.lock:
            self.spans[run.name, seed] = (start, time.time())
        return dict(top1=50.0)


def test_two_workers_overlap_and_det_units_wait_for_their_backbone(tmp_path):
    runner = _runner(tmp_path)
    assert runner.workers == 2  # the suite's key
    fake = FakeUnits(runner)
    results = runner.run()
    assert set(fake.spans) == {(r, s) for r in ('plain', 'manet', 'det')
                               for s in (0, 1)}
    assert [r['seed'] for r in results['det']] == [0, 1]
    spans = sorted(fake.spans.values())
    overlaps = sum(a_end > b_start for (_, a_end), (b_start, _)
                   in zip(spans, spans[1:]))
    assert overlaps >= 2  # 6 units of 0.3 s on 2 workers
    for seed in (0, 1):  # each det unit started after its backbone ended
        assert fake.spans['det', seed][0] >= fake.spans['plain', seed][1]
    # the costliest units first: MA-Net's (1.6 trainings) before plain's
    first_two = sorted(fake.spans, key=lambda u: fake.spans[u][0])[:2]
    assert {name for name, _ in first_two} == {'manet'}


def test_a_failing_unit_stops_the_suite_and_keeps_finished_results(
        tmp_path):
    runner = _runner(tmp_path)
    FakeUnits(runner, fail=('manet', 0))
    with pytest.raises(RuntimeError, match='manet seed 0 broke'):
        runner.run()
    assert not runner.is_done('manet', 0)
    assert runner.is_done('manet', 1)  # ran beside it, kept
    assert not runner.is_done('det', 0)  # nothing new started after


def test_tools_get_a_share_of_the_cores(tmp_path, monkeypatch):
    import subprocess
    seen = {}

    def fake_run(args, cwd, stdout, stderr, env):
        seen.update(env)
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(subprocess, 'run', fake_run)
    monkeypatch.setattr('os.cpu_count', lambda: 4)
    runner = _runner(tmp_path)
    runner._tool(['tools/test.py'], str(tmp_path / 'logs' / 'x.log'))
    assert seen['OMP_NUM_THREADS'] == '2'
    single = _runner(tmp_path, workers=1)
    seen.clear()
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    single._tool(['tools/test.py'], str(tmp_path / 'logs' / 'y.log'))
    assert 'OMP_NUM_THREADS' not in seen


def test_workers_must_be_a_positive_integer(tmp_path):
    from astro_mm.suite import SuiteConfigError
    with pytest.raises(SuiteConfigError, match='suite.workers'):
        _runner(tmp_path, SUITE.replace('workers=2', 'workers=0'))


def test_a_prune_tag_added_to_a_finished_run_reopens_only_that_tag(
        tmp_path):
    """A finished unit whose run gains a prune tag (a control added after
    the study ran) is re-run for the new tag only: its training, tests and
    earlier tags are kept, its minutes add up."""
    from astro_mm.suite.runner import write_json
    text = SUITE.replace(
        "config='configs/manet/manet_resnet18_1xb64-3e_demo-cifar.py')",
        "config='configs/manet/manet_resnet18_1xb64-3e_demo-cifar.py', "
        "prune=dict(b60=dict(param_budget=0.6), random_60=dict("
        "param_budget=0.6, method='random')))")
    runner = _runner(tmp_path, text, workers=1)
    kept = dict(top1=90.0, minutes=1.5)
    for run in ('plain', 'manet', 'det'):
        for seed in (0, 1):
            result = dict(top1=91.0, minutes=10.0, run=run, seed=seed)
            if run == 'manet':
                result['pruned'] = dict(b60=kept)
            write_json(result, runner.result_file(run, seed))
    assert runner.is_done('plain', 0) and runner.is_done('det', 1)
    assert not runner.is_done('manet', 0)  # random_60 is missing
    pruned_tags = []
    runner._train = lambda config, unit_dir, options: 'a.pth'
    runner._test = lambda *args, **kwargs: dict(cls=dict(top1=91.0))
    runner._complexity = lambda run, options: dict(params_M=0.27,
                                                   flops_G=0.01)

    def prune(run, tag, spec, checkpoint, unit_dir, options, unpruned,
              seed):
        pruned_tags.append((run.name, tag))
        return dict(top1=88.0, minutes=2.0)

    runner._prune = prune
    results = runner.run()
    assert pruned_tags == [('manet', 'random_60')] * 2
    for result in results['manet']:
        assert result['pruned'] == dict(b60=kept, random_60=dict(
            top1=88.0, minutes=2.0))
        assert 10.0 <= result['minutes'] < 11.0
    assert results['plain'][0]['minutes'] == 10.0  # not reopened


def test_report_of_a_study_in_progress_shows_what_finished(tmp_path):
    """tools/run_suite.py --report: rows of the finished units only, each
    with the number of seeds it has; nothing is run."""
    import subprocess
    import sys

    from astro_mm.suite.runner import write_json
    text = SUITE.replace(
        "config='configs/manet/manet_resnet18_1xb64-3e_demo-cifar.py')",
        "config='configs/manet/manet_resnet18_1xb64-3e_demo-cifar.py', "
        "prune=dict(b60=dict(param_budget=0.6), b40=dict(param_budget=0.4))),"
        "\n    dict(name='astro', task='cls', method='astronet', config="
        "'configs/astronet/astronet_resnet18_1xb64-3e_demo-cifar.py')")
    path = tmp_path / 'suite.py'
    path.write_text(text)
    work = tmp_path / 'work'
    runner = _runner(tmp_path, text)
    pruned = dict(top1=80.0, top1_finetuned=85.0, params_M=0.6,
                  flops_G=0.3, latency_ratio=0.9, threshold=None,
                  minutes=1.0)
    for seed, tags in ((0, ('b60', 'b40')), (1, ('b60', ))):
        write_json(dict(top1=90.0 + seed, params_M=1.0, flops_G=0.5,
                        minutes=5.0, pruned={t: pruned for t in tags}),
                   runner.result_file('manet', seed))
    out = subprocess.run(
        [sys.executable, 'tools/run_suite.py', str(path), '--work-dir',
         str(work), '--report'], cwd=ROOT, capture_output=True, text=True,
        check=True).stdout
    lines = {line.split('|')[3].strip(): line for line in out.splitlines()
             if line.startswith('| manet')}
    assert set(lines) == {'trained', 'pruned b60', 'pruned b40'}
    assert '90.50 ± 0.71' in lines['trained']
    assert lines['pruned b60'].split('|')[-3].strip() == '2'  # seeds
    assert lines['pruned b40'].split('|')[-3].strip() == '1'
    assert '| plain |' not in out  # no unit of plain finished
    assert not (work / 'plain').exists() and not (work / 'table.md').exists()
    # the figures that need no weights are drawn from the results alone
    assert (work / 'figures' / 'params_vs_accuracy.png').stat().st_size > 0
    assert 'gradcam: skipped, it loads checkpoints' in out
    # an AstroNet run not trained yet has no e^t curve to draw, and no error
    assert 'figure et_curves' not in out


def test_worker_threads_read_configs_one_at_a_time(tmp_path, monkeypatch):
    """mmengine's Config.fromfile is not thread-safe (two units starting at
    once failed in its _base_ resolution in make demo): the runner's reads
    from worker threads never overlap."""
    import threading
    import time

    from mmengine.config import Config
    from astro_mm.suite.runner import read_config
    original = Config.fromfile  # a staticmethod
    active, peak = [0], [0]

    def slow_fromfile(*args, **kwargs):
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        try:
            return original(*args, **kwargs)
        finally:
            active[0] -= 1

    monkeypatch.setattr(Config, 'fromfile', staticmethod(slow_fromfile))
    config = f'{ROOT}/configs/resnet/resnet18_1xb64-3e_demo-cifar.py'
    threads = [threading.Thread(target=read_config,
                                args=(config, ['train_cfg.max_epochs=1']))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 1
    assert read_config(config, ['train_cfg.max_epochs=1']
                       ).train_cfg.max_epochs == 1


def test_listed_order_starts_units_as_the_suite_lists_them(tmp_path):
    """order='listed': the plain units (listed first, cheaper) start before
    MA-Net's, unlike the default cost order above; det units still wait."""
    runner = _runner(tmp_path, SUITE.replace(
        'workers=2)', "workers=2, order='listed')"))
    fake = FakeUnits(runner, seconds=0.2)
    runner.run()
    starts = sorted(fake.spans, key=lambda u: fake.spans[u][0])
    assert set(starts[:2]) == {('plain', 0), ('plain', 1)}
    assert {name for name, _ in starts[2:4]} == {'manet'}


def test_order_must_be_cost_or_listed(tmp_path):
    from astro_mm.suite import SuiteConfigError
    with pytest.raises(SuiteConfigError, match="suite.order.*'cost'"):
        _runner(tmp_path, SUITE.replace('workers=2)',
                                        "workers=2, order='fifo')"))
