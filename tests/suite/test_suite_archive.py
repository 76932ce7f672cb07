"""SuiteRunner's archive: a finished unit's results (its weights only for a
run with archive_weights) are
kept in a repo folder, and a fresh work dir resumes from them."""
import json
import os

import pytest

from astro_mm.suite import load_suite
from astro_mm.suite.runner import SuiteRunner
from conftest import ROOT

SUITE = """
suite = dict(name='a', seeds=[0, 1], archive={archive!r})
runs = [
    dict(name='plain', task='cls', method='plain',
         config='configs/resnet/resnet18_1xb64-3e_demo-cifar.py',
         prune=dict(l1_60=dict(param_budget=0.6, method='l1'))),
    dict(name='det', task='det', method='plain', backbone='plain',
         metric='bbox',
         config='configs/faster_rcnn/faster-rcnn_r18_fpn_200i_demo-coco.py'),
]
"""


def _runner(tmp_path, work='work'):
    path = tmp_path / 'suite.py'
    # an absolute archive is refused (below); a relative one resolves
    # against the root, so the test's root is its tmp_path
    path.write_text(SUITE.format(archive='archive'))
    cfg = load_suite(str(path), ROOT)
    return SuiteRunner(cfg, str(tmp_path / work), str(tmp_path),
                       log=lambda message: None)


class FakeCls:
    """Stands in for the tools: writes what a cls unit leaves on disk."""

    def __init__(self, runner):
        self.runner, self.calls = runner, []
        runner._run_cls = self.unit

    def unit(self, run, seed, previous=None):
        self.calls.append((run.name, seed))
        unit_dir = self.runner.unit_dir(run.name, seed)
        weights = os.path.join(unit_dir, 'epoch_1.pth')
        open(weights, 'wb').write(b'weights')
        os.makedirs(os.path.join(unit_dir, '20261202_000000', 'vis_data'))
        open(os.path.join(unit_dir, '20261202_000000', 'vis_data',
                          'scalars.json'), 'w').write('{"loss": 1.0}\n')
        open(os.path.join(unit_dir, 'pruned_l1_60.json'), 'w').write(
            json.dumps(dict(widths=[3, 4])))
        return dict(checkpoint=weights, top1=80.0 + seed,
                    pruned=dict(l1_60=dict(top1=70.0 + seed)))


def test_finished_units_are_archived_without_weights(tmp_path):
    runner = _runner(tmp_path)
    runner.cfg.runs = runner.cfg.runs[:1]  # the cls run only
    FakeCls(runner).runner.run()
    archived = tmp_path / 'archive' / 'plain' / 'seed1'
    assert json.loads((archived / 'result.json').read_text())['top1'] == 81.0
    assert json.loads((archived / 'pruned_l1_60.json').read_text()) == \
        dict(widths=[3, 4])
    assert (archived / '20261202_000000' / 'vis_data' /
            'scalars.json').read_text() == '{"loss": 1.0}\n'
    assert not list(archived.glob('*.pth'))


def test_a_fresh_work_dir_resumes_from_the_archive(tmp_path):
    first = _runner(tmp_path)
    first.cfg.runs = first.cfg.runs[:1]
    FakeCls(first).runner.run()
    # a fresh clone: same archive, empty work dir
    second = _runner(tmp_path, work='fresh')
    second.cfg.runs = second.cfg.runs[:1]
    fake = FakeCls(second)
    results = second.run()
    assert fake.calls == []  # nothing retrained
    assert [r['top1'] for r in results['plain']] == [80.0, 81.0]
    assert (tmp_path / 'fresh' / 'plain' / 'seed0' / 'pruned_l1_60.json'
            ).is_file()


def test_a_det_run_refuses_an_archived_backbone_without_weights(tmp_path):
    first = _runner(tmp_path)
    first.cfg.runs = first.cfg.runs[:1]
    FakeCls(first).runner.run()
    for seed in (0, 1):  # what a fresh clone has: the archive only
        os.remove(tmp_path / 'work' / 'plain' / f'seed{seed}' / 'epoch_1.pth')
    runner = _runner(tmp_path)
    with pytest.raises(FileNotFoundError, match="backbone 'plain'.*archive"):
        runner.backbone_checkpoint('plain', 0)


def test_an_absolute_archive_is_refused(tmp_path):
    path = tmp_path / 'suite.py'
    path.write_text(SUITE.format(archive=str(tmp_path / 'archive')))
    with pytest.raises(Exception, match='suite.archive'):
        load_suite(str(path), ROOT)


CUT_SUITE = """
suite = dict(name='a', seeds=[0], archive='archive')
runs = [
    dict(name='plain', task='cls', method='plain', archive_weights=True,
         config='configs/resnet/resnet18_1xb64-3e_demo-cifar.py',
         prune=dict(first=dict(budget=0.6, method='l1'),
                    second=dict(budget=0.4, method='l1'))),
]
"""


class FakeTools:
    """Stands in for the tools under the real ``_run_cls`` and ``_train``:
    the training tool writes a checkpoint; test and prune record what ran;
    ``cut`` makes that prune tag fail (a unit cut short)."""

    def __init__(self, runner, cut=None):
        import torch
        self.runner, self.cut, self.trained, self.pruned = runner, cut, 0, []
        self.weight = torch.arange(6.).reshape(2, 3)
        runner._tool = self.tool
        runner._test = lambda *args: dict(cls=dict(top1=90.0))
        runner._validate = lambda *args: None
        runner._complexity = lambda *args: dict(params_M=1.0)
        runner._prune = self.prune

    def tool(self, args, log_file, **kwargs):
        import torch
        assert args[0] == 'tools/train.py'
        self.trained += 1
        unit_dir = args[args.index('--work-dir') + 1]
        checkpoint = os.path.join(unit_dir, 'epoch_5.pth')
        torch.save(dict(state_dict=dict(w=self.weight), meta=dict(epoch=5),
                        optimizer=dict(state=[1] * 1000)), checkpoint)
        with open(os.path.join(unit_dir, 'last_checkpoint'), 'w') as f:
            f.write(checkpoint)

    def prune(self, run, tag, spec, checkpoint, *args):
        import torch
        if tag == self.cut:
            raise RuntimeError(f'cut at {tag}')
        # the checkpoint it prunes holds the trained weights
        assert torch.equal(torch.load(checkpoint)['state_dict']['w'],
                           self.weight)
        self.pruned.append(tag)
        return dict(top1_finetuned=80.0 + spec['budget'], params_ratio=0.5,
                    flops_ratio=0.5)


def test_a_unit_cut_between_tags_resumes_in_a_fresh_clone_untrained(
        tmp_path):
    """Each finished tag is written and archived at once; a run with
    archive_weights archives its trained weights (no optimizer), so a fresh
    work dir restores them and runs only the missing tag, training
    nothing."""
    import torch
    (tmp_path / 'suite.py').write_text(CUT_SUITE)
    cfg = load_suite(str(tmp_path / 'suite.py'), ROOT)
    first = SuiteRunner(cfg, str(tmp_path / 'work'), str(tmp_path),
                        log=lambda message: None)
    tools = FakeTools(first, cut='second')
    with pytest.raises(RuntimeError, match='cut at second'):
        first.run()
    archived = tmp_path / 'archive' / 'plain' / 'seed0'
    partial = json.loads((archived / 'result.json').read_text())
    assert set(partial['pruned']) == {'first'}
    assert partial['pruned']['first']['top1_finetuned'] == 80.6
    weights = torch.load(archived / 'weights.pth')
    assert set(weights) == {'state_dict', 'meta'}  # no optimizer
    assert torch.equal(weights['state_dict']['w'], tools.weight)
    assert not first.is_done('plain', 0)  # a tag is missing

    second = SuiteRunner(cfg, str(tmp_path / 'fresh'), str(tmp_path),
                         log=lambda message: None)
    tools = FakeTools(second)
    results = second.run()
    assert tools.trained == 0 and tools.pruned == ['second']
    assert results['plain'][0]['pruned']['second']['top1_finetuned'] == 80.4
    assert results['plain'][0]['pruned']['first']['top1_finetuned'] == 80.6
    assert set(json.loads((archived / 'result.json').read_text())['pruned']
               ) == {'first', 'second'}


def test_without_archive_weights_no_weights_are_archived(tmp_path):
    (tmp_path / 'suite.py').write_text(
        CUT_SUITE.replace(' archive_weights=True,', ''))
    cfg = load_suite(str(tmp_path / 'suite.py'), ROOT)
    runner = SuiteRunner(cfg, str(tmp_path / 'work'), str(tmp_path),
                         log=lambda message: None)
    FakeTools(runner)
    runner.run()
    assert not (tmp_path / 'archive' / 'plain' / 'seed0' /
                'weights.pth').exists()
    fresh = SuiteRunner(cfg, str(tmp_path / 'fresh'), str(tmp_path),
                        log=lambda message: None)
    fresh.cfg.runs[0].prune['third'] = dict(budget=0.3, method='l1')
    tools = FakeTools(fresh)
    fresh.run()
    assert tools.trained == 1 and tools.pruned == ['third']


def test_commit_is_dirty_for_code_not_for_the_archive(tmp_path):
    """A study run from a clean clone writes into its archive (and updates
    results committed there): its units still ran at a clean commit. A
    change to code makes it dirty."""
    import subprocess

    def git(*args):
        subprocess.run(['git', *args], cwd=tmp_path, check=True,
                       capture_output=True)

    runner = _runner(tmp_path)
    result = tmp_path / 'archive' / 'plain' / 'seed0' / 'result.json'
    result.parent.mkdir(parents=True)
    result.write_text('{}')
    (tmp_path / 'code.py').write_text('A = 1\n')
    git('init', '-q')
    git('add', '-A')
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'c')
    head = runner.commit()
    assert head and '+dirty' not in head
    result.write_text('{"top1": 90.0}')  # the study updates its archive
    assert runner.commit() == head
    (tmp_path / 'code.py').write_text('A = 2\n')
    assert runner.commit() == head + '+dirty'
