"""The CDS baseline: SupCon, projection heads, multi-view data, training,
and the swap of its backbone into a detector."""
import glob
import json
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate, pseudo_collate
from mmengine.registry import DefaultScope

from astro_mm.compat import load_checkpoint_file
from astro_mm.models.losses import supcon_loss
from conftest import ROOT, run_tool
from helpers import assert_backbone_holds

DEMO_CONFIG = 'configs/cds/cds_resnet18_1xb64-3e_demo-cifar.py'
DETECTOR_CONFIG = ('configs/faster_rcnn/'
                   'faster-rcnn_r18-cds_fpn_200i_demo-coco.py')
CDS_CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', 'cds', '*.py')))
DETECTOR_CDS_CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '*', '*-cds_*.py')))


def _build(cfg):
    from astro_mm.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)


def _tiny_classifier(depth=18, cls_type='astro_mm.CDSImageClassifier',
                     **backbone):
    """A CIFAR ResNet with base width 8 (stages 8/16/32/64 wide for R-18)."""
    last = 8 * 8 * (4 if depth >= 50 else 1)
    return _build(
        dict(
            type=cls_type,
            backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=depth,
                          stem_channels=8, base_channels=8, **backbone),
            neck=dict(type='mmpretrain.GlobalAveragePooling'),
            head=dict(type='mmpretrain.LinearClsHead', num_classes=4,
                      in_channels=last,
                      loss=dict(type='mmpretrain.CrossEntropyLoss'))))


def _samples(labels):
    from mmpretrain.structures import DataSample
    return [DataSample().set_gt_label(int(label)) for label in labels]


# ---------------------------------------------------------------- SupCon
def test_supcon_identical_positives_beat_random_embeddings():
    labels = torch.arange(4).repeat(2)  # 4 images, 2 views each
    # both views of an image are the same unit vector, classes orthogonal
    aligned = torch.eye(8)[:4].repeat(2, 1)
    random = torch.nn.functional.normalize(
        torch.randn(8, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    assert supcon_loss(aligned, labels) < 0.01
    assert supcon_loss(random, labels) > 1.0
    # the perfect case's residual is the one the formula leaves: the
    # denominator holds 6 negatives at cos 0 next to the positive at cos 1
    # (tau = 0.5 here: at 0.07 the residual is below float32's resolution)
    expected = math.log(1 + 6 * math.exp(-1 / 0.5))
    assert supcon_loss(aligned, labels, 0.5).item() == pytest.approx(
        expected, rel=1e-5)


def test_supcon_matches_the_formula_on_four_samples():
    z = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.2], [0.8, 0.6], [-0.3, 1.0], [0.5, -0.9]]),
        dim=1)
    labels = torch.tensor([0, 0, 1, 0])
    tau = 0.5
    per_anchor = []
    for i in range(4):
        positives = [p for p in range(4) if p != i and labels[p] == labels[i]]
        if not positives:
            continue  # sample 2 is alone in its class: not an anchor
        denominator = sum(
            math.exp(float(z[i] @ z[a]) / tau) for a in range(4) if a != i)
        per_anchor.append(-sum(
            math.log(math.exp(float(z[i] @ z[p]) / tau) / denominator)
            for p in positives) / len(positives))
    expected = sum(per_anchor) / len(per_anchor)
    assert len(per_anchor) == 3
    assert supcon_loss(z, labels, tau).item() == pytest.approx(expected,
                                                               rel=1e-5)


def test_supcon_without_positives_is_zero_and_rejects_bad_input():
    z = torch.nn.functional.normalize(torch.randn(3, 5), dim=1)
    z.requires_grad_(True)
    loss = supcon_loss(z, torch.tensor([0, 1, 2]))
    assert loss.item() == 0.0
    loss.backward()  # still part of the graph
    with pytest.raises(ValueError, match='labels'):
        supcon_loss(z, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='temperature'):
        supcon_loss(z, torch.tensor([0, 1, 2]), temperature=0.)


# ------------------------------------------------------------ the model
@pytest.mark.parametrize('depth,widths', [(18, [8, 16, 32, 64]),
                                          (50, [32, 64, 128, 256])])
def test_projection_heads_follow_the_stages(depth, widths):
    model = _tiny_classifier(depth, out_indices=(3, ))  # plain config's
    assert model.backbone.out_indices == (0, 1, 2, 3)
    assert [head.in_channels for head in model.cds_heads] == widths
    for stage, head in enumerate(model.cds_heads):
        convs = list(head.convs)
        # stage i retraces stages i+1..4 (each halves the map), the last
        # stage's head is one stride-1 conv
        assert len(convs) == max(1, 3 - stage)
        assert [c.depthwise_conv.conv.stride[0] for c in convs] == (
            [2] * (3 - stage) or [1])
        assert convs[-1].pointwise_conv.conv.out_channels == widths[-1]
        assert head.projection.out_features == 128
    feats = model.extract_feat(torch.randn(2, 3, 32, 32), stage='backbone')
    assert [f.size(1) for f in feats] == widths
    embeddings = [head(f) for head, f in zip(model.cds_heads, feats)]
    for e in embeddings:
        assert e.shape == (2, 128)
        torch.testing.assert_close(e.norm(dim=1), torch.ones(2))


def test_losses_and_gradients_reach_every_head_and_the_backbone():
    torch.manual_seed(0)
    model = _tiny_classifier()
    views = [torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32)]
    losses = model.loss(views, _samples([0, 1, 0, 1]))
    assert set(losses) == {'loss_cls', 'loss_cds_s1', 'loss_cds_s2',
                           'loss_cds_s3', 'loss_cds_s4'}
    for name in losses:
        assert losses[name].ndim == 0 and losses[name] > 0, name
    # SupCon of 8 unit vectors is at most log 7 + 2 / tau
    for stage in range(1, 5):
        assert losses[f'loss_cds_s{stage}'] < 0.1 * (math.log(7) + 2 / 0.07)

    # deep supervision: stage 1's loss trains stage 1 and its head only
    model.zero_grad()
    losses['loss_cds_s1'].backward(retain_graph=True)
    assert model.backbone.layer1[0].conv1.weight.grad.abs().sum() > 0
    assert model.backbone.layer4[0].conv1.weight.grad is None
    assert model.cds_heads[0].projection.weight.grad.abs().sum() > 0
    assert model.cds_heads[1].projection.weight.grad is None

    model.zero_grad()
    sum(losses.values()).backward()
    for index, head in enumerate(model.cds_heads):
        for name, param in head.named_parameters():
            assert param.grad is not None and param.grad.abs().sum() > 0, (
                f'cds_heads.{index}.{name}')
    for name, param in model.backbone.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert model.head.fc.weight.grad.abs().sum() > 0


def test_loss_names_the_missing_views():
    model = _tiny_classifier()
    with pytest.raises(ValueError, match='MultiView'):
        model.loss(torch.randn(2, 3, 32, 32), _samples([0, 1]))


def test_predict_equals_a_plain_image_classifier_bit_for_bit():
    torch.manual_seed(0)
    cds = _tiny_classifier(out_indices=(3, )).eval()
    plain = _tiny_classifier(cls_type='mmpretrain.ImageClassifier',
                             out_indices=(3, )).eval()
    state = cds.state_dict()
    heads = {k for k in state if k.startswith('cds_heads.')}
    assert heads and set(state) - heads == set(plain.state_dict())
    plain.load_state_dict({k: v for k, v in state.items() if k not in heads})

    data = dict(inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
                        for _ in range(3)],
                data_samples=_samples([0, 1, 2]))
    with torch.no_grad():
        ours = cds.test_step(dict(data))
        theirs = plain.test_step(dict(data))
        inputs = torch.randn(3, 3, 32, 32)
        assert torch.equal(cds(inputs), plain(inputs))  # 'tensor' mode
    for a, b in zip(ours, theirs):
        assert torch.equal(a.pred_score, b.pred_score)
        assert torch.equal(a.pred_label, b.pred_label)


# ------------------------------------------------------------- the data
def _multi_view_batch(collate, num_samples=3):
    import numpy as np
    from mmcv.transforms import RandomFlip
    from mmpretrain.datasets.transforms import (MultiView, PackInputs,
                                                RandomCrop)
    view = MultiView(
        num_views=2,
        transforms=[[RandomCrop(crop_size=32, padding=4),
                     RandomFlip(prob=0.5, direction='horizontal')]])
    pack = PackInputs()
    rng = np.random.default_rng(0)
    samples = []
    for label in range(num_samples):
        img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        samples.append(pack(view(dict(img=img, gt_label=label))))
    return collate(samples)


@pytest.mark.parametrize('collate', [pseudo_collate, default_collate])
def test_preprocessor_batches_each_view(collate):
    from astro_mm.models import MultiViewClsDataPreprocessor
    mean, std = [120., 110., 100.], [50., 60., 70.]
    pre = MultiViewClsDataPreprocessor(mean=mean, std=std, num_classes=4)
    batch = _multi_view_batch(collate)
    raw = [torch.stack(list(v)).float() for v in batch['inputs']]
    out = pre(batch, training=True)
    assert isinstance(out['inputs'], list) and len(out['inputs']) == 2
    for view, raw_view in zip(out['inputs'], raw):
        assert view.shape == (3, 3, 32, 32)
        expected = (raw_view - torch.tensor(mean).view(1, 3, 1, 1)) / \
            torch.tensor(std).view(1, 3, 1, 1)
        torch.testing.assert_close(view, expected)
    # two independent augmentations: the views differ
    assert not torch.equal(out['inputs'][0], out['inputs'][1])
    assert [int(s.gt_label) for s in out['data_samples']] == [0, 1, 2]


def test_preprocessor_is_cls_data_preprocessor_on_one_view():
    from mmpretrain.models import ClsDataPreprocessor

    from astro_mm.models import MultiViewClsDataPreprocessor
    kwargs = dict(mean=[1., 2., 3.], std=[4., 5., 6.], to_rgb=True)
    images = [torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)
              for _ in range(2)]
    ours = MultiViewClsDataPreprocessor(**kwargs)(
        dict(inputs=list(images)))['inputs']
    theirs = ClsDataPreprocessor(**kwargs)(dict(inputs=list(images)))['inputs']
    assert torch.equal(ours, theirs)


def test_preprocessor_refuses_batch_augments_on_views():
    from astro_mm.models import MultiViewClsDataPreprocessor
    pre = MultiViewClsDataPreprocessor(
        num_classes=4,
        batch_augments=dict(augments=dict(type='Mixup', alpha=1.)))
    with pytest.raises(ValueError, match='batch_augments'):
        pre(_multi_view_batch(pseudo_collate), training=True)


# ----------------------------------------------------------- the configs
def test_every_row_has_a_config():
    names = {osp.basename(c) for c in CDS_CONFIGS}
    assert names == {
        'cds_resnet18-cifar_8xb16-200e_cifar10.py',
        'cds_resnet50-cifar_8xb16-200e_cifar10.py',
        'cds_wide-resnet50-cifar_8xb16-200e_cifar10.py',
        'cds_resnet18_8xb32-100e_in1k.py', 'cds_resnet50_8xb32-100e_in1k.py',
        'cds_resnet18_1xb64-3e_demo-cifar.py',
        'cds_resnet18-cifar_1xb64-3e_demo-cifar.py',
        'cds_resnet18-cifar_1xb128-5e_fashion-mnist.py',
        'cds_resnet20-cifar-s2_1xb128-4e_fashion-mnist.py',
        'cds_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist.py'
    }
    assert len(DETECTOR_CDS_CONFIGS) == 8


@pytest.mark.parametrize('config', CDS_CONFIGS)
def test_config_changes_only_model_type_and_views(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    plain = Config.fromfile(
        osp.join(ROOT, 'configs', 'resnet',
                 osp.basename(config)[len('cds_'):]))
    assert cfg.model.type == 'astro_mm.CDSImageClassifier'
    assert {k: v for k, v in cfg.model.items() if k != 'type'} == {
        k: v for k, v in plain.model.items() if k != 'type'}
    train = cfg.train_dataloader.dataset.pipeline
    views = [t for t in train if t.type == 'MultiView']
    assert len(views) == 1 and views[0].num_views == 2
    # a plain config that trains without augmentation names the one its
    # CDS views use (two identical views would make SupCon trivial)
    plain_train = plain.get('augmentation',
                            plain.train_dataloader.dataset.pipeline)
    # the plain augmentation inside each view, loading outside, packing last
    # (``_base_.train_pipeline`` tags mmpretrain's own dicts with _scope_)
    strip = lambda ts: [{k: v for k, v in t.items() if k != '_scope_'}
                        for t in ts]
    view_transforms = strip(views[0].transforms[0])
    assert view_transforms == strip(
        t for t in plain_train
        if t.type != 'PackInputs' and not t.type.startswith('Load'))
    assert view_transforms, 'a CDS view without augmentation'
    assert train[-1].type == 'PackInputs'
    assert cfg.val_dataloader == plain.val_dataloader
    assert cfg.optim_wrapper == plain.optim_wrapper
    assert cfg.train_cfg == plain.train_cfg


@pytest.mark.parametrize(
    'config', [c for c in CDS_CONFIGS if 'in1k' not in c])
def test_config_builds(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    model = _build(dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    # one head per stage: ResNet-20 has 3, the ResNet-18/50 families 4
    stages = 3 if 'resnet20' in config else 4
    assert len(model.cds_heads) == stages
    assert type(model.data_preprocessor).__name__ == \
        'MultiViewClsDataPreprocessor'
    assert model.cds_heads[-1].in_channels == cfg.model.head.in_channels


@pytest.mark.parametrize('config', DETECTOR_CDS_CONFIGS)
def test_detector_config_swaps_the_cds_checkpoint(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    plain = Config.fromfile(osp.join(ROOT, config.replace('-cds', '')))
    backbone = cfg.model.backbone
    assert backbone.type == plain.model.backbone.type == 'ResNet'
    assert backbone.init_cfg.checkpoint == (
        cfg.demo_cds_pretrained if 'demo' in config else
        cfg.coco_cds_pretrained)
    assert '/cds_resnet' in backbone.init_cfg.checkpoint
    assert backbone.init_cfg.prefix == 'backbone.'
    # everything but the checkpoint is the plain detector
    backbone.init_cfg.checkpoint = plain.model.backbone.init_cfg.checkpoint
    assert cfg.model == plain.model


# ------------------------------------------------- train, then swap
def _scalars(work_dir):
    lines = next(work_dir.glob('*/vis_data/scalars.json')).read_text()
    return [json.loads(line) for line in lines.splitlines()]


@pytest.fixture(scope='module')
def cds_checkpoint(demo_root, tmp_path_factory):
    """The demo CDS config trained a few iterations by tools/train.py."""
    work_dir = tmp_path_factory.mktemp('cds')
    data = demo_root / 'demo_cifar'
    run_tool('tools/train.py', DEMO_CONFIG, '--work-dir', str(work_dir),
             '--cfg-options', 'train_cfg.max_epochs=1',
             'train_dataloader.batch_size=32',
             'default_hooks.logger.interval=1',
             f'train_dataloader.dataset.data_root={data}',
             f'val_dataloader.dataset.data_root={data}',
             f'test_dataloader.dataset.data_root={data}')
    return work_dir


def test_training_logs_every_stage_loss(cds_checkpoint):
    log = next(cds_checkpoint.glob('*/*.log')).read_text()
    for stage in range(1, 5):
        assert f'loss_cds_s{stage}:' in log, f'loss_cds_s{stage}'
    # the logged 'loss' is the total: cross-entropy + the four stages
    logged = _scalars(cds_checkpoint)
    entry = next(e for e in logged if 'loss_cds_s1' in e)
    parts = entry['loss_cls'] + sum(
        entry[f'loss_cds_s{s}'] for s in range(1, 5))
    assert entry['loss'] == pytest.approx(parts, rel=1e-3)
    assert 0 < entry['loss_cds_s1'] < 0.1 * (math.log(63) + 2 / 0.07)
    assert 'accuracy/top1' in log  # validation ran on one view
    state = load_checkpoint_file(str(cds_checkpoint / 'epoch_1.pth'))
    assert any(k.startswith('cds_heads.') for k in state['state_dict'])


def test_cds_backbone_loads_into_the_detector(cds_checkpoint):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    checkpoint = str(cds_checkpoint / 'epoch_1.pth')
    cfg = Config.fromfile(osp.join(ROOT, DETECTOR_CONFIG))
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    with DefaultScope.overwrite_default_scope('mmdet'):
        detector = MODELS.build(cfg.model)
    before = detector.backbone.layer1[0].conv1.weight.clone()
    detector.init_weights()

    source = load_checkpoint_file(checkpoint)['state_dict']
    backbone = detector.backbone.state_dict()
    assert_backbone_holds(backbone, source)  # every backbone key swapped
    assert not torch.equal(before, backbone['layer1.0.conv1.weight'])
