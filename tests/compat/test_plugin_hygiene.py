"""``import astro_mm`` (what ``custom_imports`` does) changes nothing else's
behaviour; astro_mm's strict swap is asked for per ``init_cfg`` and refuses
only what would leave backbone weights random."""
import json
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from astro_mm.compat import PretrainedMismatchError, StrictPretrainedInit
from conftest import ROOT

# Run in a fresh interpreter: prints one JSON line. ``WITH_ASTRO`` decides
# whether the config imports astro_mm (custom_imports, as a user's would).
_STOCK_DETECTOR = r'''
import json, logging, sys
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

config, full, partial, out, with_astro = sys.argv[1:6]
with_astro = with_astro == '1'
lines = []


class Collect(logging.Handler):
    def emit(self, record):
        lines.append(record.getMessage())


MMLogger.get_instance('hygiene').addHandler(Collect())  # the current one
cfg = Config.fromfile(config)
if with_astro:
    assert 'astro_mm' in sys.modules  # imported by custom_imports
from mmdet.utils import register_all_modules  # noqa: E402
register_all_modules()
from mmdet.registry import MODELS as MMDET_MODELS  # noqa: E402
detector = MMDET_MODELS.build(cfg.model)
detector.init_weights()
torch.save(detector.backbone.state_dict(), out)

# a key missing from the checkpoint: mmengine's warning, no error
backbone = MMDET_MODELS.build(dict(
    cfg.model.backbone, init_cfg=dict(type='Pretrained', checkpoint=partial)))
backbone.init_weights()
import mmpretrain.models  # noqa: E402,F401
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS  # noqa: E402
classifier_backbone = MMPRETRAIN_MODELS.build(dict(
    type='ResNet', depth=50,
    init_cfg=dict(type='Pretrained', checkpoint=partial)))
classifier_backbone.init_weights()
print(json.dumps(dict(
    missing_warnings=[l for l in lines if 'missing keys in source' in l],
    astro_mm_imported='astro_mm' in sys.modules)))
'''


@pytest.fixture(scope='module')
def torchvision_resnet50(tmp_path_factory):
    """A torchvision-layout ResNet-50 checkpoint (with ``fc.*``), as
    ``torchvision://resnet50`` is, and a copy missing one backbone key."""
    import torchvision
    root = tmp_path_factory.mktemp('tv')
    torch.manual_seed(0)
    state = torchvision.models.resnet50().state_dict()
    assert 'fc.weight' in state
    full, partial = root / 'resnet50_tv.pth', root / 'resnet50_tv_partial.pth'
    torch.save(state, full)
    del state['layer4.2.conv3.weight']
    torch.save(state, partial)
    return full, partial


def _run_stock_detector(tmp_path, full, partial, with_astro):
    imports = "custom_imports = dict(imports=['astro_mm'])\n" \
        if with_astro else ''
    config = tmp_path / f'faster_rcnn_{int(with_astro)}.py'
    config.write_text(
        "_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'\n"
        f'{imports}'
        f"model = dict(backbone=dict(init_cfg=dict(checkpoint='{full}')))\n")
    out = tmp_path / f'backbone_{int(with_astro)}.pth'
    proc = subprocess.run(
        [sys.executable, '-c', _STOCK_DETECTOR, str(config), str(full),
         str(partial), str(out), str(int(with_astro))],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report['astro_mm_imported'] == with_astro
    return torch.load(out, weights_only=True), report


def test_stock_faster_rcnn_loads_torchvision_weights_as_without_astro_mm(
        torchvision_resnet50, tmp_path):
    full, partial = torchvision_resnet50
    source = torch.load(full, weights_only=True)
    runs = {with_astro: _run_stock_detector(tmp_path, full, partial,
                                            with_astro)
            for with_astro in (False, True)}
    for with_astro, (backbone, report) in runs.items():
        # every backbone tensor is the file's (the file's fc.* is unused)
        assert set(backbone) == set(source) - {'fc.weight', 'fc.bias'}
        different = [k for k, v in backbone.items()
                     if not torch.equal(v, source[k])]
        assert not different, (with_astro, different[:5])
        # mmdet's and mmpretrain's ResNet: mmengine's warning, no error
        assert len(report['missing_warnings']) == 2, report
        assert all('layer4.2.conv3.weight' in w
                   for w in report['missing_warnings'])
    assert runs[True][1]['missing_warnings'] == \
        runs[False][1]['missing_warnings']


def test_import_astro_mm_patches_nothing_and_imports_no_mmpretrain():
    probe = r'''
import json, sys
from mmengine.dist import utils as dist_utils
from mmengine.fileio.backends import LocalBackend
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner.checkpoint import CheckpointLoader

def snapshot():
    return dict(
        loader=repr(CheckpointLoader._schemes['']),
        put=repr(LocalBackend.put), put_text=repr(LocalBackend.put_text),
        init_dist=repr(dist_utils._init_dist_pytorch),
        ddp=repr(MMDistributedDataParallel.__init__),
        pretrained=repr(WEIGHT_INITIALIZERS.get('Pretrained')))

before = snapshot()
import astro_mm  # noqa: E402
after = snapshot()
print(json.dumps(dict(before=before, after=after, imported=sorted(
    m for m in ('mmpretrain', 'mmdet', 'astro_mm.models') if m in sys.modules
))))
'''
    proc = subprocess.run([sys.executable, '-c', probe], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report['after'] == report['before']
    assert 'PretrainedInit' in report['after']['pretrained']
    # components register on first use (the registries' locations)
    assert report['imported'] == []


def test_astro_mm_components_resolve_on_first_use():
    probe = r'''
import sys
import astro_mm  # noqa: F401
# the strict initializer of an init_cfg, found without astro_mm.compat
assert 'astro_mm.compat' not in sys.modules
from mmengine.registry import WEIGHT_INITIALIZERS, build_from_cfg
strict = build_from_cfg(dict(type='Pretrained', _scope_='astro_mm',
                             checkpoint='x.pth'), WEIGHT_INITIALIZERS)
assert type(strict).__name__ == 'StrictPretrainedInit', type(strict)
# the families (and pruning) know mmpretrain's and mmcv's blocks by class
# without importing them: resolving a ResNet's family imports neither
import torchvision
from astro_mm.families import resolve_family
plan = resolve_family(torchvision.models.resnet18())
assert type(plan.family).__name__ == 'ResNetFamily'
assert len(plan.blocks) == 8
assert not {'mmpretrain', 'mmcv.cnn'} & set(sys.modules), sorted(
    m for m in sys.modules if m.startswith(('mmpretrain', 'mmcv.cnn')))
from mmdet.registry import MODELS
backbone = MODELS.build(dict(type='astro_mm.PrunedResNet', base=dict(
    type='mmdet.ResNet', depth=18), widths={}))
print(type(backbone).__name__)
'''
    proc = subprocess.run([sys.executable, '-c', probe], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == 'ResNet'


# ------------------------------------------------------ astro_mm's swap
def _mmdet_resnet18(init_cfg):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.registry import DefaultScope
    register_all_modules(init_default_scope=False)
    # mmdet's scope whatever an earlier test of this process left current
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(dict(type='ResNet', depth=18, init_cfg=init_cfg))


@pytest.fixture(scope='module')
def resnet18_state():
    import torchvision
    torch.manual_seed(1)
    return torchvision.models.resnet18().state_dict()


def test_scope_selects_the_strict_initializer():
    from mmengine.model.weight_init import PretrainedInit
    from mmengine.registry import WEIGHT_INITIALIZERS, build_from_cfg
    strict = build_from_cfg(dict(type='Pretrained', _scope_='astro_mm',
                                 checkpoint='x.pth'), WEIGHT_INITIALIZERS)
    plain = build_from_cfg(dict(type='Pretrained', checkpoint='x.pth'),
                           WEIGHT_INITIALIZERS)
    assert type(strict) is StrictPretrainedInit
    assert type(plain) is PretrainedInit


def test_strict_swap_accepts_extra_classifier_keys(resnet18_state, tmp_path):
    state = dict(resnet18_state)  # torchvision's fc.*, plus a head
    state['head.fc.weight'] = torch.randn(10, 512)
    path = tmp_path / 'with_heads.pth'
    torch.save(dict(state_dict=state), path)
    backbone = _mmdet_resnet18(dict(type='Pretrained', _scope_='astro_mm',
                                    checkpoint=str(path)))
    backbone.init_weights()
    loaded = backbone.state_dict()
    assert set(loaded) == set(state) - {'fc.weight', 'fc.bias',
                                        'head.fc.weight'}
    assert all(torch.equal(v, state[k]) for k, v in loaded.items())


def test_strict_swap_refuses_a_prefix_mismatch(resnet18_state, tmp_path):
    # a detector's checkpoint (backbone.*, neck.*) read without the prefix:
    # every backbone key is missing
    state = {f'backbone.{k}': v for k, v in resnet18_state.items()}
    state['neck.conv.weight'] = torch.randn(4, 4)
    path = tmp_path / 'detector.pth'
    torch.save(dict(state_dict=state), path)
    backbone = _mmdet_resnet18(dict(type='Pretrained', _scope_='astro_mm',
                                    checkpoint=str(path)))
    with pytest.raises(PretrainedMismatchError) as err:
        backbone.init_weights()
    message = str(err.value)
    assert str(path) in message
    missing, skipped = message.split('would stay randomly initialized')
    assert 'conv1.weight' in missing and 'backbone.conv1.weight' not in \
        missing  # the model's keys are the ones said to stay random
    assert 'backbone.conv1.weight' in skipped and 'skipped' in skipped
    # a prefix that no key has: the file and its prefixes are named
    backbone = _mmdet_resnet18(dict(type='Pretrained', _scope_='astro_mm',
                                    checkpoint=str(path), prefix='model.'))
    with pytest.raises(PretrainedMismatchError,
                       match=rf"{path}: no key starts with .*'model\.'.*"
                       r"'backbone\.', 'neck\.'"):
        backbone.init_weights()


def test_strict_swap_refuses_a_mis_shaped_tensor(resnet18_state, tmp_path):
    state = dict(resnet18_state)
    state['layer1.0.conv1.weight'] = torch.randn(32, 64, 3, 3)
    path = tmp_path / 'narrow.pth'
    torch.save(state, path)
    backbone = _mmdet_resnet18(dict(type='Pretrained', _scope_='astro_mm',
                                    checkpoint=str(path)))
    with pytest.raises(PretrainedMismatchError,
                       match=rf'(?s){path} does not match ResNet.*'
                       r'layer1\.0\.conv1\.weight'):
        backbone.init_weights()


def test_repo_configs_ask_for_the_strict_swap():
    for config in ('configs/faster_rcnn/faster-rcnn_r18_fpn_200i_demo-coco.py',
                   'configs/detr/detr_r50-manet_8xb2-150e_coco.py'):
        cfg = Config.fromfile(f'{ROOT}/{config}')
        init_cfg = cfg.model.backbone.init_cfg
        assert (init_cfg.type, init_cfg._scope_) == ('Pretrained', 'astro_mm')
        assert 'astro_mm.compat.enable' in cfg.custom_imports.imports


def test_a_pruned_backbone_in_a_detector_imports_no_library_mmdet_does_not():
    """mmdet 3.3 itself imports mmpretrain when its models register
    (mmdet/models/data_preprocessors/reid_data_preprocessor.py): what
    building ``astro_mm.PrunedBackbone`` around an mmdet ResNet adds to
    building that ResNet alone is astro_mm's own modules and Torch-Pruning,
    no OpenMMLab package."""
    probe = r'''
import json, sys
from mmdet.registry import MODELS
MODELS.build(dict(type='ResNet', depth=18))
before = set(sys.modules)
import astro_mm  # noqa: F401
MODELS.build(dict(type='astro_mm.PrunedBackbone',
                  base=dict(type='mmdet.ResNet', depth=18), widths={}))
added = {m.split('.')[0] for m in set(sys.modules) - before}
print(json.dumps(sorted(added)))
'''
    proc = subprocess.run([sys.executable, '-c', probe], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    added = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert 'astro_mm' in added and 'torch_pruning' in added
    assert not {'mmpretrain', 'mmdet', 'mmcv', 'mmengine'} & added, added
