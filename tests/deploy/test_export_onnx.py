"""ONNX export (tools/deploy/export_onnx.py): a pruned classifier and a
pruned detector backbone, run by onnxruntime, compute what torch computes,
at the pruned widths, for any batch size."""
import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

from astro_mm.families import resolve_family
from astro_mm.deploy import (CheckpointMismatchError, build_deployable,
                             build_network, export_onnx)
from astro_mm.pruning import emit_detector_config, prune_baseline
from conftest import ROOT, run_tool

# ResNet-20 (stride-2 stem) on 28x28 Fashion-MNIST images, 1 channel
CLASSIFIER = ('configs/resnet/'
              'resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py')
IMAGE = (1, 28, 28)
# ResNet-18 with mmdet's ResNet layout, and a detector it swaps into
DET_CLASSIFIER = 'configs/resnet/resnet18_1xb64-3e_demo-cifar.py'
DETECTOR = 'configs/faster_rcnn/faster-rcnn_r18_fpn_200i_demo-coco.py'
DET_IMAGE = (3, 64, 96)
ATOL = 1e-4


def _trained_like(model: nn.Module, seed: int) -> nn.Module:
    """Batch norms with the non-trivial statistics of a trained network
    (a fresh one's are the identity, which folds into nothing)."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            size = module.num_features
            module.weight.data = torch.rand(size, generator=generator) + 0.5
            module.bias.data = torch.rand(size, generator=generator) - 0.5
            module.running_mean = (torch.rand(size, generator=generator)
                                   - 0.5) * 0.4
            module.running_var = torch.rand(size, generator=generator) + 0.5
    return model


def _plain_model(config: str, seed: int = 0) -> nn.Module:
    cfg = Config.fromfile(f'{ROOT}/{config}')
    cfg.model.pop('init_cfg', None)
    torch.manual_seed(seed)
    return _trained_like(build_network(cfg), seed).eval()


@pytest.fixture(scope='module')
def pruned_classifier(tmp_path_factory):
    """The ResNet-20, randomly initialised, pruned by tools/prune.py (L1,
    coupled: stage widths shrink too, to half the parameters): OUT.pth and
    the OUT.py that builds its shape."""
    folder = tmp_path_factory.mktemp('export')
    plain = folder / 'r20_plain.pth'
    torch.save(dict(state_dict=_plain_model(CLASSIFIER).state_dict()), plain)
    out = folder / 'r20_pruned.pth'
    run_tool('tools/prune.py', CLASSIFIER, str(plain), '--method', 'l1',
             '--coupled', '--budget', '0.5', '--recalibrate-batches', '0',
             '--latency-repeats', '1', '--input-size', str(IMAGE[-1]),
             '--out', str(out))
    return dict(plain=plain, checkpoint=out, config=folder / 'r20_pruned.py')


@pytest.fixture(scope='module')
def pruned_detector(tmp_path_factory):
    """The demo Faster R-CNN with a coupled-pruned ResNet-18 backbone: the
    config tools/emit_detector_config.py writes, and the checkpoint."""
    folder = tmp_path_factory.mktemp('export_det')
    classifier = _plain_model(DET_CLASSIFIER)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        result = prune_baseline(classifier, 'l1', 0.6, coupled=True,
                                plan=resolve_family(classifier.backbone, strict=True))
    checkpoint = folder / 'r18_pruned.pth'
    torch.save(dict(state_dict=result.model.state_dict(),
                    meta=dict(pruned_widths=result.widths,
                              stage_widths=result.stage_widths,
                              coupled=True)), checkpoint)
    config = folder / 'faster-rcnn_r18-pruned.py'
    emit_detector_config(str(checkpoint), f'{ROOT}/{DETECTOR}', str(config))
    return dict(checkpoint=checkpoint, config=config, result=result)


def _onnx_conv_weights(path) -> list:
    """Shapes of the weights of the graph's Conv nodes."""
    graph = onnx.load(str(path)).graph
    initializers = {init.name: tuple(init.dims) for init in graph.initializer}
    return [initializers[node.input[1]] for node in graph.node
            if node.op_type == 'Conv']


def _torch_conv_weights(module: nn.Module) -> list:
    return [tuple(m.weight.shape) for m in module.modules()
            if isinstance(m, nn.Conv2d)]


def _compare(path, torch_forward, image, num_outputs):
    """onnxruntime against torch on random batches of 2 and 3 (the graph
    was traced at one batch size: the other tests the dynamic axis)."""
    session = onnxruntime.InferenceSession(
        str(path), providers=['CPUExecutionProvider'])
    assert session.get_inputs()[0].shape[0] == 'batch'
    generator = torch.Generator().manual_seed(1)
    for batch in (2, 3):
        inputs = torch.randn(batch, *image, generator=generator)
        with torch.no_grad():
            expected = torch_forward(inputs)
        actual = session.run(None, {'input': inputs.numpy()})
        assert len(actual) == len(expected) == num_outputs
        for want, got in zip(expected, actual):
            assert got.shape == tuple(want.shape) and got.shape[0] == batch
            assert np.abs(got - want.numpy()).max() <= ATOL


def test_pruned_classifier_exports_at_its_widths(pruned_classifier,
                                                 tmp_path):
    out = tmp_path / 'r20.onnx'
    proc = run_tool('tools/deploy/export_onnx.py',
                    str(pruned_classifier['config']),
                    str(pruned_classifier['checkpoint']), '--out', str(out),
                    '--shape', *map(str, IMAGE[1:]))
    assert f'wrote {out}' in proc.stdout
    assert 'onnxruntime matches torch' in proc.stdout  # the tool's own check

    classifier = build_deployable(str(pruned_classifier['config']),
                                  str(pruned_classifier['checkpoint'])).module
    _compare(out, lambda x: [classifier(x, mode='tensor')], IMAGE, 1)
    # the graph's convolutions have the pruned shapes, not the unpruned
    exported = _onnx_conv_weights(out)
    assert sorted(exported) == sorted(_torch_conv_weights(classifier))
    unpruned = _torch_conv_weights(_plain_model(CLASSIFIER))
    assert len(exported) == len(unpruned)
    assert sum(s[0] for s in exported) < sum(s[0] for s in unpruned)
    assert max(s[0] for s in exported) < max(s[0] for s in unpruned)


def test_pruned_classifier_backbone_exports(pruned_classifier, tmp_path):
    # the library the tool calls (the tool's --backbone-only: the detector)
    deployable = build_deployable(str(pruned_classifier['config']),
                                  str(pruned_classifier['checkpoint']),
                                  backbone_only=True)
    assert deployable.part == 'backbone'
    export = export_onnx(deployable.module, str(tmp_path / 'r20_bb.onnx'),
                         (deployable.in_channels, *IMAGE[1:]), 'backbone')
    assert export.output_names == ['feat0'] and export.input_shape == IMAGE
    _compare(export.path, deployable.module, IMAGE, 1)
    assert sorted(_onnx_conv_weights(export.path)) == sorted(
        _torch_conv_weights(deployable.module))


def test_pruned_detector_backbone_exports_every_level(pruned_detector,
                                                     tmp_path):
    out = tmp_path / 'r18_backbone.onnx'
    proc = run_tool('tools/deploy/export_onnx.py',
                    str(pruned_detector['config']),
                    str(pruned_detector['checkpoint']), '--backbone-only',
                    '--out', str(out), '--shape', *map(str, DET_IMAGE[1:]))
    assert 'outputs feat0, feat1, feat2, feat3' in proc.stdout
    backbone = build_deployable(str(pruned_detector['config']),
                                str(pruned_detector['checkpoint'])).module
    _compare(out, backbone, DET_IMAGE, 4)
    # each level has its stage's pruned width
    session = onnxruntime.InferenceSession(
        str(out), providers=['CPUExecutionProvider'])
    levels = session.run(None, {'input': np.zeros((1, *DET_IMAGE),
                                                  np.float32)})
    stages = pruned_detector['result'].stage_widths
    assert [level.shape[1] for level in levels] == [
        stages[f'layer{i}'] for i in range(1, 5)]
    assert sorted(_onnx_conv_weights(out)) == sorted(
        _torch_conv_weights(backbone))


def test_a_detector_config_gives_its_backbone(pruned_detector):
    deployable = build_deployable(str(pruned_detector['config']),
                                  str(pruned_detector['checkpoint']))
    assert deployable.part == 'backbone'  # the detector's heads are not
    assert deployable.in_channels == 3


def test_checkpoint_of_other_widths_names_the_layer_and_shapes(
        pruned_classifier):
    pruned = torch.load(pruned_classifier['checkpoint'],
                        weights_only=True)['state_dict']
    plain = torch.load(pruned_classifier['plain'],
                       weights_only=True)['state_dict']
    # the unpruned checkpoint with the pruned config
    with pytest.raises(CheckpointMismatchError) as err:
        build_deployable(str(pruned_classifier['config']),
                         str(pruned_classifier['plain']))
    message = str(err.value)
    key = 'backbone.conv1.weight'  # the stem: the first layer of the net
    assert f'layer backbone.conv1: {key}' in message
    assert (f'{tuple(plain[key].shape)} in the checkpoint, '
            f'{tuple(pruned[key].shape)} expected') in message
    assert 'OUT.py' in message
    # the pruned checkpoint with the unpruned config
    with pytest.raises(CheckpointMismatchError, match='layer backbone.conv1'):
        build_deployable(f'{ROOT}/{CLASSIFIER}',
                         str(pruned_classifier['checkpoint']))


def test_an_astro_training_checkpoint_is_pruned_first(pruned_classifier,
                                                      tmp_path):
    state = {f'architecture.{k}': v for k, v in torch.load(
        pruned_classifier['plain'], weights_only=True)['state_dict'].items()}
    state['modulator.bias'] = torch.zeros(3)
    astro = tmp_path / 'astro.pth'
    torch.save(dict(state_dict=state), astro)
    with pytest.raises(CheckpointMismatchError, match='Prune it first'):
        build_deployable(f'{ROOT}/{CLASSIFIER}', str(astro))
    with pytest.raises(ValueError, match='Prune the checkpoint first'):
        build_deployable(
            f'{ROOT}/configs/astronet/'
            'astronet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-'
            'holdout5k.py', str(astro))
