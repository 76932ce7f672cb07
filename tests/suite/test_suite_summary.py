"""A suite's last line: values from the runs' results, averaged over seeds,
missing ones refused as nan; the demo suite's line has the README's keys."""
import math
import re

import pytest

from astro_mm.suite import SuiteConfigError, load_suite
from astro_mm.suite.summary import summary_line, summary_values
from conftest import ROOT

SUMMARY = dict(name='demo', values=dict(
    top1_plain='plain.top1',
    params_ratio='manet.pruned.b60.params_ratio',
    ap_detr='detr_plain.metrics.bbox.AP'))
RESULTS = dict(
    plain=[dict(top1=80.0), dict(top1=84.0)],
    manet=[dict(pruned=dict(b60=dict(params_ratio=0.61234)))],
    detr_plain=[dict(metrics=dict(bbox=dict(AP=5.5)))])


def test_values_are_seed_means_in_the_given_order():
    line = summary_line(SUMMARY, RESULTS, minutes=12.34)
    assert line == ('demo: minutes=12.3 top1_plain=82.00 '
                    'params_ratio=0.6123 ap_detr=5.50')


def test_a_missing_value_is_nan_and_named():
    warnings = []
    results = dict(RESULTS, detr_plain=[dict(metrics=dict(bbox={}))],
                   plain=[dict(top1=80.0), dict(top1=None)])
    values = summary_values(SUMMARY, results, warn=warnings.append)
    assert math.isnan(values['ap_detr']) and math.isnan(values['top1_plain'])
    assert values['params_ratio'] == pytest.approx(0.61234)
    assert any('ap_detr' in w and 'detr_plain.metrics.bbox.AP' in w
               for w in warnings)
    assert any('top1_plain' in w and '1 of 2' in w for w in warnings)


def test_summary_naming_no_run_is_refused(tmp_path):
    suite = tmp_path / 'suite.py'
    suite.write_text(
        "suite = dict(name='s', summary=dict(name='s', values=dict("
        "a='nope.top1')))\n"
        "runs = [dict(name='plain', task='cls', method='plain', "
        "config='configs/resnet/resnet18_1xb64-3e_demo-cifar.py')]\n")
    with pytest.raises(SuiteConfigError, match=r"'nope.top1' names no run"):
        load_suite(str(suite), root=ROOT)


def test_demo_suite_line_has_the_readme_keys():
    cfg = load_suite(f'{ROOT}/configs/suites/demo.py', root=ROOT)
    fake = {run.name: [dict(top1_finetuned=1.0, pruned=dict(b60=dict(
        top1_finetuned=2.0, params_ratio=0.6)), metrics=dict(
            bbox=dict(AP=3.0), segm=dict(AP=4.0)))] for run in cfg.runs}
    line = summary_line(cfg.suite.summary, fake, minutes=1.0)
    assert re.fullmatch(
        r'demo: minutes=1\.0 top1_plain=1\.00 top1_manet_pruned=2\.00 '
        r'params_ratio=0\.6000 ap_faster_rcnn=3\.00 ap_detr=3\.00 '
        r'ap_condinst=4\.00 ap_boxinst=4\.00', line), line
