"""A coupled-pruned backbone in an mmdet config that mmengine's own Runner
trains, with no astro_mm tool involved."""
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from astro_mm.families import resolve_family
from astro_mm.pruning import prune_baseline, pruned_detector_config
from conftest import ROOT, demo_coco_options, run_tool
from helpers import assert_backbone_holds

CLASSIFIER = 'configs/resnet/resnet18_1xb64-3e_demo-cifar.py'
DETECTOR = 'configs/faster_rcnn/faster-rcnn_r18_fpn_200i_demo-coco.py'

# mmengine only: the config's custom_imports bring astro_mm in.
_TRAIN = r'''
import sys
import torch
from mmengine.config import Config
from mmengine.runner import Runner

config, work_dir, out = sys.argv[1:4]
cfg = Config.fromfile(config)
cfg.work_dir = work_dir
cfg.optim_wrapper.optimizer.lr = 0.  # the weights stay the loaded ones
runner = Runner.from_cfg(cfg)
runner.train()
assert runner.iter == 2, runner.iter
torch.save(runner.model.backbone.state_dict(), out)
'''


@pytest.fixture(scope='module')
def coupled_checkpoint(tmp_path_factory):
    """ResNet-18 pruned with coupled stage channels to 0.6 of its
    parameters (L1), saved as tools/prune.py saves it."""
    from astro_mm.registry import MODELS
    cfg = Config.fromfile(f'{ROOT}/{CLASSIFIER}')
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    cfg.model.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        torch.manual_seed(0)
        classifier = MODELS.build(cfg.model)
        result = prune_baseline(
            classifier, 'l1', 0.6, coupled=True,
            plan=resolve_family(classifier.backbone, strict=True))
    path = tmp_path_factory.mktemp('coupled') / 'r18_coupled.pth'
    torch.save(dict(state_dict=result.model.state_dict(),
                    meta=dict(pruned_widths=result.widths,
                              stage_widths=result.stage_widths,
                              coupled=True)), path)
    assert result.stage_widths['layer4'] < 512
    return path, result


def test_emitted_config_trains_under_mmengine_from_the_pruned_weights(
        coupled_checkpoint, demo_root, tmp_path):
    ckpt, result = coupled_checkpoint
    out = tmp_path / 'faster-rcnn_r18-pruned.py'
    proc = run_tool('tools/emit_detector_config.py', str(ckpt), DETECTOR,
                    str(out), '--cfg-options', *demo_coco_options(demo_root))
    assert str(out) in proc.stdout

    emitted = Config.fromfile(str(out))  # standalone: no _base_ to resolve
    assert '_base_' not in out.read_text()
    backbone = emitted.model.backbone
    assert backbone.type == 'astro_mm.PrunedBackbone'
    assert backbone.base.type == 'mmdet.ResNet' and backbone.base.depth == 18
    assert backbone.widths == result.widths  # inline, not read from a file
    assert backbone.stage_widths == result.stage_widths
    assert dict(backbone.init_cfg) == dict(
        type='Pretrained', _scope_='astro_mm', checkpoint=str(ckpt),
        prefix='backbone.')
    stages = [result.stage_widths[f'layer{i}'] for i in range(1, 5)]
    assert list(emitted.model.neck.in_channels) == stages
    assert emitted.custom_imports.imports[0] == 'astro_mm'

    trained = tmp_path / 'backbone.pth'
    proc = subprocess.run(
        [sys.executable, '-c', _TRAIN, str(out), str(tmp_path / 'work'),
         str(trained)],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    source = torch.load(ckpt, weights_only=True)['state_dict']
    assert_backbone_holds(torch.load(trained, weights_only=True), source)


def test_a_config_without_astro_mm_gets_its_import(coupled_checkpoint):
    ckpt, result = coupled_checkpoint
    cfg = Config.fromfile(f'{ROOT}/{DETECTOR}')
    cfg.pop('custom_imports')
    cfg.model.backbone.type = 'ResNet'  # unscoped, as mmdet's configs name it
    emitted = pruned_detector_config(cfg, str(ckpt))
    assert emitted.custom_imports.imports == ['astro_mm']
    assert emitted.model.backbone.base.type == 'mmdet.ResNet'
    assert 'init_cfg' not in emitted.model.backbone.base
    assert 'custom_imports' not in cfg  # the input is left as it was
    assert cfg.model.backbone.type == 'ResNet'


def test_prune_tool_flags_go_together():
    proc = run_tool('tools/prune.py', CLASSIFIER, 'x.pth', '--out', 'y.pth',
                    '--emit', 'det.py', check=False)
    assert proc.returncode != 0
    assert '--detector-config and --emit go together' in proc.stderr


def test_prune_tool_emits_the_detector_config(tmp_path):
    from astro_mm.registry import MODELS
    cfg = Config.fromfile(f'{ROOT}/{CLASSIFIER}')
    cfg.model.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        torch.manual_seed(0)
        state = MODELS.build(cfg.model).state_dict()
    plain = tmp_path / 'plain.pth'
    torch.save(dict(state_dict=state), plain)
    pruned, out = tmp_path / 'r18_l1.pth', tmp_path / 'det.py'
    run_tool('tools/prune.py', CLASSIFIER, str(plain), '--method', 'l1',
             '--coupled', '--budget', '0.6', '--recalibrate-batches', '0',
             '--latency-repeats', '1', '--input-size', '64', '--out',
             str(pruned), '--detector-config', DETECTOR, '--emit', str(out))
    meta = torch.load(pruned, weights_only=True)['meta']
    emitted = Config.fromfile(str(out))
    assert emitted.model.backbone.widths == meta['pruned_widths']
    assert emitted.model.backbone.init_cfg.checkpoint == str(pruned)
    assert list(emitted.model.neck.in_channels) == [
        meta['stage_widths'][f'layer{i}'] for i in range(1, 5)]
