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
from helpers import assert_backbone_holds

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
    from astro_mm.families import inner_widths, shrink_to_widths
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
    assert_backbone_holds(detector.backbone.state_dict(),
                          torch.load(ckpt, weights_only=True)['state_dict'])


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
                       match=r'1 of its tensors are not in the checkpoint: '
                       r'layer4\.1\.conv2\.weight; they would stay randomly '
                       r'initialized'):
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


# ---------------------------------------------------------------- coupled
# A coupled prune shrinks the stage widths: the neck's input widths must
# come from the checkpoint's meta (no hand edit), and every backbone tensor
# must still be the checkpoint's. R-18 in the demo configs, R-50 in the
# COCO 2017 configs (the papers' rows), swapped in as the suite runner
# does it: --cfg-options through the tools' own config loading.
COUPLED_DETECTORS = {
    18: {name: config.format('-manet') for name, config in DETECTORS.items()},
    50: {
        'faster_rcnn': 'configs/faster_rcnn/faster-rcnn_r50-manet_fpn_1x_coco.py',
        'detr': 'configs/detr/detr_r50-manet_8xb2-150e_coco.py',
        'condinst':
        'configs/condinst/condinst_r50-manet_fpn_ms-poly-90k_coco.py',
        'boxinst': 'configs/boxinst/boxinst_r50-manet_fpn_ms-90k_coco.py',
    },
}
COUPLED_CLASSIFIERS = {
    18: 'configs/resnet/resnet18_1xb64-3e_demo-cifar.py',
    50: 'configs/resnet/resnet50_8xb32-100e_in1k.py',
}


@pytest.fixture(scope='module')
def coupled_checkpoints(tmp_path_factory):
    """ResNet-18 / ResNet-50 classifiers pruned with coupled stage channels
    to 0.6 of their parameters (L1 baseline), weights redrawn, saved as
    tools/prune.py saves them."""
    from astro_mm.families import resolve_family
    from astro_mm.pruning import prune_baseline
    root = tmp_path_factory.mktemp('coupled_ckpts')
    out = {}
    for depth, config in COUPLED_CLASSIFIERS.items():
        cfg = Config.fromfile(f'{ROOT}/{config}')
        cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
        cfg.model.pop('init_cfg', None)
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            classifier = _build(cfg.default_scope, cfg.model)
            result = prune_baseline(
                classifier, 'l1', 0.6, coupled=True,
                plan=resolve_family(classifier.backbone, strict=True))
        full = {f'layer{i + 1}': 64 * 2**i * (1 if depth == 18 else 4)
                for i in range(4)}
        if depth == 50:  # its stem is a channel group of its own
            full = {'stem': 64, **full}
        assert list(result.stage_widths) == list(full)
        # every group narrower, ResNet-50's stem too: the detectors rebuild it
        assert all(result.stage_widths[s] < full[s] for s in full)
        out[depth] = root / f'r{depth}_coupled.pth'
        torch.save(dict(state_dict=_randomized(result.model.state_dict(),
                                               depth),
                        meta=dict(pruned_widths=result.widths,
                                  stage_widths=result.stage_widths,
                                  coupled=True)), out[depth])
    return out


def _load_config(config, options):
    from argparse import Namespace

    from astro_mm.apis import load_config
    return load_config(Namespace(config=f'{ROOT}/{config}',
                                 cfg_options=options, launcher='none',
                                 work_dir='unused', local_rank=0))


@pytest.mark.parametrize('name', sorted(DETECTORS))
@pytest.mark.parametrize('depth', sorted(COUPLED_DETECTORS))
def test_coupled_pruned_backbone_loads_and_sets_the_neck(
        depth, name, coupled_checkpoints):
    from mmengine.config import DictAction
    ckpt = str(coupled_checkpoints[depth])
    options = {key: DictAction._parse_iterable(value) for key, value in (
        ('model.backbone.widths', ckpt),
        ('model.backbone.init_cfg.checkpoint', ckpt))}
    cfg = _load_config(COUPLED_DETECTORS[depth][name], options)
    saved = torch.load(ckpt, weights_only=True)
    stages = [w for stage, w in saved['meta']['stage_widths'].items()
              if stage != 'stem']  # no neck reads the stem
    out_indices = cfg.model.backbone.base.out_indices
    expected_in = [stages[i] for i in out_indices]
    assert list(cfg.model.neck.in_channels) == expected_in
    detector = _build_detector(cfg)
    detector.init_weights()
    assert_backbone_holds(detector.backbone.state_dict(), saved['state_dict'])
    # the neck was built with those widths and reads the backbone's outputs
    detector.eval()
    with torch.no_grad():
        feats = detector.backbone(torch.randn(1, 3, 64, 64))
        assert [f.shape[1] for f in feats] == expected_in
        detector.neck(feats)
    if name == 'detr':  # ChannelMapper: DETR's input projection
        assert [c.conv.in_channels for c in detector.neck.convs] == \
            expected_in
    else:  # FPN (CondInst / BoxInst start at level 1, from the same list)
        assert list(detector.neck.in_channels) == expected_in
        assert [c.conv.in_channels for c in detector.neck.lateral_convs] == \
            expected_in[detector.neck.start_level:]


def test_unknown_neck_of_a_coupled_backbone_is_an_error(coupled_checkpoints):
    from astro_mm.pruning import sync_neck_widths
    cfg = Config.fromfile(f'{ROOT}/{COUPLED_DETECTORS[18]["faster_rcnn"]}')
    cfg.model.backbone.widths = str(coupled_checkpoints[18])
    cfg.model.neck = dict(type='mmdet.HRFPN', in_channels=[64, 128, 256, 512],
                          out_channels=256)
    with pytest.raises(ValueError, match=r"neck type 'HRFPN'.*"
                       r'model\.neck\.in_channels = \['):
        sync_neck_widths(cfg.model, cfg.default_scope)
    # an inner-only prune changes no stage width: its necks are left alone
    inner = torch.load(coupled_checkpoints[18], weights_only=True)
    inner['meta']['coupled'] = False
    assert sync_neck_widths(dict(
        backbone=dict(type='astro_mm.PrunedResNet', base=dict(
            type='mmdet.ResNet', depth=18), widths=inner['meta'][
                'pruned_widths'])), 'mmdet') is None
