"""Strict swaps: every backbone tensor of the four detectors is the
checkpoint's (plain, CDS and pruned astro checkpoints), and a checkpoint or
prefix that does not cover the backbone fails instead of leaving random
weights."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from astro_mm.compat import PretrainedMismatchError
from conftest import ROOT

DETECTORS = {
    'faster_rcnn':
    'configs/faster_rcnn/faster-rcnn_r18{}_fpn_200i_demo-coco.py',
    'detr': 'configs/detr/detr_r18{}_200i_demo-coco.py',
    'condinst': 'configs/condinst/condinst_r18{}_fpn_200i_demo-coco.py',
    'boxinst': 'configs/boxinst/boxinst_r18{}_fpn_200i_demo-coco.py',
}
VARIANTS = {'plain': '', 'cds': '-cds', 'astronet': '-astronet',
            'manet': '-manet'}
CLASSIFIERS = {
    'plain': 'configs/resnet/resnet18_1xb64-3e_demo-cifar.py',
    'cds': 'configs/cds/cds_resnet18_1xb64-3e_demo-cifar.py',
}


def _build(registry_scope, model_cfg):
    from astro_mm.registry import MODELS
    with DefaultScope.overwrite_default_scope(registry_scope):
        return MODELS.build(model_cfg)


def _randomized(state_dict, seed):
    """Every float tensor redrawn, so a random init cannot pass as loaded."""
    gen = torch.Generator().manual_seed(seed)
    return {
        k: torch.randn(v.shape, generator=gen) if v.is_floating_point()
        else v.clone()
        for k, v in state_dict.items()
    }


def _classifier(kind):
    cfg = Config.fromfile(f'{ROOT}/{CLASSIFIERS[kind]}')
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    return _build(cfg.default_scope, cfg.model)


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """Classification checkpoints as tools/train.py and tools/prune.py
    write them: plain ResNet-18, CDS (with its heads), and a pruned one
    (half the inner channels, ``meta.pruned_widths``)."""
    from astro_mm.models.pruning.strategies import (inner_widths,
                                                    shrink_to_widths)
    root = tmp_path_factory.mktemp('swap_ckpts')
    out = {}
    for seed, kind in enumerate(('plain', 'cds')):
        state = _randomized(_classifier(kind).state_dict(), seed)
        if kind == 'cds':
            assert any(k.startswith('cds_heads.') for k in state)
        out[kind] = root / f'{kind}.pth'
        torch.save(dict(state_dict=state, meta=dict(epoch=3)), out[kind])
    classifier = _classifier('plain')
    widths = {name: [max(1, w // 2) for w in ws]
              for name, ws in inner_widths(classifier.backbone).items()}
    shrink_to_widths(classifier.backbone, widths)
    state = _randomized(classifier.state_dict(), 7)
    out['pruned'] = root / 'pruned.pth'
    torch.save(dict(state_dict=state, meta=dict(pruned_widths=widths)),
               out['pruned'])
    return out


def _detector_cfg(name, variant, checkpoint, **init_cfg):
    config = DETECTORS[name].format(VARIANTS[variant])
    cfg = Config.fromfile(f'{ROOT}/{config}')
    backbone = cfg.model.backbone
    if variant in ('astronet', 'manet'):
        assert backbone.type == 'astro_mm.PrunedResNet'
        backbone.widths = str(checkpoint)
    assert backbone.init_cfg.type == 'Pretrained'
    assert backbone.init_cfg.prefix == 'backbone.'
    backbone.init_cfg.checkpoint = str(checkpoint)
    backbone.init_cfg.update(init_cfg)
    return cfg


def _build_detector(cfg):
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    return _build('mmdet', cfg.model)


@pytest.mark.parametrize('variant', sorted(VARIANTS))
@pytest.mark.parametrize('name', sorted(DETECTORS))
def test_every_backbone_tensor_is_the_checkpoints(name, variant,
                                                  checkpoints):
    ckpt = checkpoints['pruned' if variant in ('astronet', 'manet')
                       else variant]
    detector = _build_detector(_detector_cfg(name, variant, ckpt))
    detector.init_weights()
    source = torch.load(ckpt, weights_only=True)['state_dict']
    expected = {k[len('backbone.'):]: v for k, v in source.items()
                if k.startswith('backbone.')}
    backbone = detector.backbone.state_dict()
    assert set(backbone) == set(expected)
    different = [k for k, v in backbone.items()
                 if not torch.equal(v, expected[k])]
    assert not different, f'not loaded: {different[:5]}'


def test_wrong_prefix_fails_naming_checkpoint_and_keys(checkpoints):
    ckpt = checkpoints['plain']
    # a prefix that matches some keys: a partial load mmengine allows
    cfg = _detector_cfg('faster_rcnn', 'plain', ckpt,
                        prefix='backbone.layer1.')
    with pytest.raises(PretrainedMismatchError) as err:
        _build_detector(cfg).init_weights()
    message = str(err.value)
    assert str(ckpt) in message and "prefix 'backbone.layer1.'" in message
    assert 'conv1.weight' in message  # the first missing keys are listed
    assert 'strict=False' in message

    # a prefix that matches nothing
    cfg = _detector_cfg('detr', 'plain', ckpt, prefix='architecture.backbone.')
    with pytest.raises(PretrainedMismatchError,
                       match=r"no key starts with .*'architecture\.backbone\.'"
                       r".*'backbone\.'"):
        _build_detector(cfg).init_weights()


def test_missing_backbone_key_fails_for_a_pruned_backbone(checkpoints,
                                                          tmp_path):
    full = torch.load(checkpoints['pruned'], weights_only=True)
    broken = copy.deepcopy(full)
    del broken['state_dict']['backbone.layer4.1.conv2.weight']
    path = tmp_path / 'broken.pth'
    torch.save(broken, path)
    cfg = _detector_cfg('condinst', 'manet', path)
    with pytest.raises(PretrainedMismatchError,
                       match=r'1 tensors of the model are not in it: '
                       r'layer4\.1\.conv2\.weight'):
        _build_detector(cfg).init_weights()


def test_strict_false_allows_a_partial_load_on_purpose(checkpoints):
    ckpt = checkpoints['plain']
    cfg = _detector_cfg('faster_rcnn', 'plain', ckpt,
                        prefix='backbone.layer1.', strict=False)
    detector = _build_detector(cfg)
    before = detector.backbone.layer4[0].conv1.weight.clone()
    detector.init_weights()  # no error: the user asked for it
    source = torch.load(ckpt, weights_only=True)['state_dict']
    assert not torch.equal(detector.backbone.layer4[0].conv1.weight,
                           source['backbone.layer4.0.conv1.weight'])
    assert before.shape == detector.backbone.layer4[0].conv1.weight.shape
