"""SuiteRunner's archive: a finished unit's results (not its weights) are
kept in a repo folder, and a fresh work dir resumes from them."""
import json
import os

import pytest

from astro_mm.benchmark import load_suite
from astro_mm.benchmark.runner import SuiteRunner
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
