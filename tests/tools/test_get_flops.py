"""tools/analysis_tools/get_flops.py: the counts it prints are the
in-process counter's, and with --pruned those of tools/prune.py's pruned
network, for a classifier and a detector taking the pruned backbone."""
import json
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import astro_mm  # noqa: F401
from astro_mm.pruning.report import flops
from astro_mm.registry import MODELS
from conftest import ROOT, run_tool

R20 = 'configs/resnet/resnet20-cifar-s2_1xb128-4e_fashion-mnist.py'
R18 = 'configs/resnet/resnet18_1xb64-3e_demo-cifar.py'
FASTER_RCNN = 'configs/faster_rcnn/faster-rcnn_r18_fpn_200i_demo-coco.py'
TOOL = 'tools/analysis_tools/get_flops.py'


def _build(config):
    cfg = Config.fromfile(f'{ROOT}/{config}')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        torch.manual_seed(0)
        return MODELS.build(cfg.model)


def _random_checkpoint(config, path):
    torch.save(dict(state_dict=_build(config).state_dict()), path)
    return str(path)


def _prune(config, checkpoint, out, input_size, *options):
    """tools/prune.py's l1 baseline at a FLOPs budget of 0.6; its report."""
    # --cost: the former name of --measure, still taken
    run_tool('tools/prune.py', config, checkpoint, '--method', 'l1',
             '--budget', '0.6', '--cost', 'flops', '--input-size',
             str(input_size), '--recalibrate-batches', '0',
             '--latency-repeats', '1', '--out', str(out), *options)
    return json.loads(out.with_suffix('.json').read_text())


def _get_flops(*args):
    """The counts get_flops.py printed, by line label."""
    stdout = run_tool(TOOL, *args).stdout
    return {label: int(count) for label, count in re.findall(
        r'^(.+?): [\d.]+ [GM] \((\d+)\)$', stdout, re.MULTILINE)}


@pytest.fixture(scope='module')
def resnet20(tmp_path_factory):
    work = tmp_path_factory.mktemp('get_flops_r20')
    checkpoint = _random_checkpoint(R20, work / 'r20.pth')
    out = work / 'r20_l1_f60.pth'
    return dict(out=out, report=_prune(R20, checkpoint, out, 28),
                printed=_get_flops(R20, '--shape', '28'))


def test_printed_counts_are_the_in_process_counters(resnet20):
    torch.set_num_threads(1)
    model = _build(R20)
    printed = resnet20['printed']
    assert printed['Backbone flops'] == flops(model.backbone, 28, 1)
    assert printed['Backbone flops, conv+linear (a budget\'s measure)'] == \
        printed['Backbone flops']  # a CNN: nothing else is a product
    assert printed['Backbone params'] == sum(
        p.numel() for p in model.backbone.parameters())
    assert printed['Params'] == sum(p.numel() for p in model.parameters())
    # the linear head on the 64 pooled channels
    assert printed['Flops'] == printed['Backbone flops'] + 64 * 10


def test_a_pruned_checkpoint_is_counted_with_its_pruned_backbone(resnet20):
    """--pruned gives the report's pruned count, smaller by its FLOPs
    ratio (the 0.6 budget); the pruned config written beside the
    checkpoint counts the same."""
    report, unpruned = resnet20['report'], resnet20['printed']
    pruned = _get_flops(R20, '--pruned', str(resnet20['out']), '--shape',
                        '28')
    assert pruned['Backbone flops'] == report['flops_after']
    assert unpruned['Backbone flops'] == report['flops_before']
    ratio = pruned['Backbone flops'] / unpruned['Backbone flops']
    assert ratio == pytest.approx(report['flops_ratio'], abs=1e-12)
    assert 0.59 <= ratio <= 0.6
    assert pruned['Backbone params'] == report['params_after']
    from_config = _get_flops(str(resnet20['out'].with_suffix('.py')),
                             '--shape', '28')
    assert from_config == pruned


def test_a_detector_takes_the_pruned_backbone_and_its_stage_widths(
        tmp_path):
    """A coupled prune narrows the stages: the FPN must read the pruned
    widths for the detector to run at all; its backbone counts as the
    pruned classifier's did."""
    checkpoint = _random_checkpoint(R18, tmp_path / 'r18.pth')
    out = tmp_path / 'r18_l1_f60.pth'
    report = _prune(R18, checkpoint, out, 64, '--coupled')
    full = dict(layer1=64, layer2=128, layer3=256, layer4=512)
    assert any(report['stage_widths'][stage] < width
               for stage, width in full.items())
    printed = _get_flops(FASTER_RCNN, '--pruned', str(out), '--shape', '64',
                         '64')
    assert printed['Backbone flops'] == report['flops_after']
    assert printed['Backbone params'] == report['params_after']
    assert printed['Flops'] > printed['Backbone flops']


def test_a_bad_shape_and_a_missing_checkpoint_are_refused():
    proc = run_tool(TOOL, R20, '--shape', '1', '2', '3', check=False)
    assert proc.returncode != 0 and '--shape takes H W' in proc.stderr
    proc = run_tool(TOOL, R20, '--pruned', 'missing.pth', check=False)
    assert proc.returncode != 0 and '--pruned missing.pth does not exist' \
        in proc.stderr
