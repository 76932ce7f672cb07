"""Publishing (tools/model_converters/publish_model.py): a checkpoint as a
runner saves it loses its optimizer, schedulers, message hub, modulator and
history, keeps every tensor of the deployed network bit for bit with the
meta that rebuilds its pruned shape, and is named by its hash."""
import copy
import hashlib
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope
from torch import nn

from astro_mm.families import resolve_family
from astro_mm.deploy import (CheckpointMismatchError, publish_checkpoint,
                             published_path)
from astro_mm.pruning import prune_baseline
from astro_mm.registry import MODELS
from conftest import run_tool

BACKBONE = dict(type='astro_mm.CIFARResNet', depth=20, in_channels=1,
                stem_channels=8, base_channels=8)
ARCHITECTURE = dict(
    type='mmpretrain.ImageClassifier', backbone=BACKBONE,
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(type='mmpretrain.LinearClsHead', num_classes=3,
              in_channels=32),
    data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                           num_classes=3))
# the algorithm's own state: everything outside its task network
ALGORITHM_STATE = ('modulator.', 'round', 'cached_probs', 'snapshot',
                   'previous_snapshot')
DATASET_META = dict(classes=('shirt', 'bag', 'boot'))


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def _trained_like(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    return model


def _runner_checkpoint(model: nn.Module, path, meta=None) -> dict:
    """``model`` saved as mmengine's runner saves it after a step: optimizer
    state (momentum buffers), schedulers, message hub and the run's meta."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sum(p.square().sum() for p in model.parameters()).backward()
    optimizer.step()
    hub = MessageHub.get_instance('test_publish_model')
    hub.update_scalar('train/loss', 0.5)
    checkpoint = dict(
        meta=dict(epoch=1, iter=10, seed=0, cfg='model = dict()',
                  experiment_name='run', mmengine_version='0.10.7',
                  hook_msgs=dict(last_ckpt='/tmp/epoch_1.pth'),
                  dataset_meta=DATASET_META, **(meta or {})),
        state_dict=model.state_dict(), optimizer=optimizer.state_dict(),
        param_schedulers=[dict(base_lrs=[0.1], last_epoch=10)],
        message_hub=hub.state_dict())
    torch.save(checkpoint, path)
    return checkpoint


def _hash_in_name(path) -> str:
    match = re.search(r'-([0-9a-f]{8})\.pth$', str(path))
    assert match, path
    return match.group(1)


@pytest.fixture
def astro_checkpoint(tmp_path):
    """An AstroNet-modulated ResNet-20 saved in its warm-up rounds."""
    torch.manual_seed(0)
    algorithm = MODELS.build(dict(
        type='astro_mm.AlternatingAlgorithm', architecture=ARCHITECTURE,
        modulator=dict(type='astro_mm.AstroNetModulator', width=4),
        warmup_rounds=5))
    _trained_like(algorithm.architecture)
    algorithm.set_round(2)  # round 2 of 5 warm-up rounds: P is 1
    path = tmp_path / 'astro_epoch_2.pth'
    checkpoint = _runner_checkpoint(algorithm, path)
    return path, checkpoint, algorithm.eval()


def test_astro_checkpoint_keeps_the_task_network_only(astro_checkpoint,
                                                      tmp_path):
    path, source, algorithm = astro_checkpoint
    assert any(k.startswith('modulator.') for k in source['state_dict'])
    proc = run_tool('tools/model_converters/publish_model.py', str(path),
                    str(tmp_path / 'publish' / 'astro-r20.pth'))
    published_file = re.search(r'saved at (\S+) ', proc.stdout).group(1)
    assert published_file.startswith(str(tmp_path / 'publish' / 'astro-r20-'))
    with open(published_file, 'rb') as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    assert _hash_in_name(published_file) == digest[:8]
    assert 'modulator.* (' in proc.stdout and 'optimizer' in proc.stdout

    published = torch.load(published_file, weights_only=True)
    assert set(published) == {'meta', 'state_dict'}
    assert published['meta'] == dict(dataset_meta=DATASET_META)
    state = published['state_dict']
    expected = {k[len('architecture.'):]: v
                for k, v in source['state_dict'].items()
                if k.startswith('architecture.')}
    assert set(state) == set(expected)  # mmpretrain's keys, nothing else
    assert not [k for k in state if k.startswith(ALGORITHM_STATE)]
    assert all(torch.equal(state[k], expected[k]) for k in expected)

    classifier = MODELS.build(copy.deepcopy(ARCHITECTURE))
    classifier.load_state_dict(state, strict=True)
    classifier.eval()
    inputs = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(classifier(inputs, mode='tensor'),
                           algorithm(inputs, mode='tensor'))


def test_astro_checkpoint_past_its_warm_up_is_refused(astro_checkpoint,
                                                      tmp_path):
    path, source, _ = astro_checkpoint
    source['state_dict']['cached_probs'][:5] = 0.3  # P of a trained MNet
    torch.save(source, path)
    out = tmp_path / 'publish' / 'astro.pth'
    with pytest.raises(ValueError, match=r'5 of its \d+ units run under P < 1'
                       r'.*Prune it first \(tools/prune.py'):
        publish_checkpoint(str(path), str(out))
    assert not out.parent.exists()  # nothing written


@pytest.fixture
def pruned_run(tmp_path):
    """A coupled-pruned ResNet-20 classifier (L1, 0.6 of the parameters),
    its config (what tools/prune.py writes as OUT.py) and a checkpoint of
    its fine-tune, whose meta is the runner's: no widths."""
    torch.manual_seed(0)
    classifier = _trained_like(MODELS.build(copy.deepcopy(ARCHITECTURE)))
    result = prune_baseline(
        classifier.eval(), 'l1', 0.6, coupled=True, input_size=(28, 28),
        plan=resolve_family(classifier.backbone, strict=True))
    assert result.stage_widths['layer3'] < 32
    model = copy.deepcopy(ARCHITECTURE)
    model['backbone'] = dict(type='astro_mm.PrunedBackbone', base=BACKBONE,
                             widths=result.widths,
                             stage_widths=result.stage_widths)
    model['head']['in_channels'] = result.stage_widths['layer3']
    config = tmp_path / 'r20_pruned.py'
    Config(dict(default_scope='mmpretrain', model=model)).dump(str(config))
    checkpoint = tmp_path / 'r20_pruned_ft.pth'
    source = _runner_checkpoint(result.model, checkpoint)
    return dict(config=config, checkpoint=checkpoint, source=source,
                result=result, unpruned=classifier)


def test_pruned_checkpoint_published_with_its_widths(pruned_run, tmp_path):
    result, source = pruned_run['result'], pruned_run['source']
    published = publish_checkpoint(str(pruned_run['checkpoint']),
                                   str(tmp_path / 'r20-pruned.pth'),
                                   config=str(pruned_run['config']))
    assert published.path == str(
        tmp_path / f'r20-pruned-{published.sha256[:8]}.pth')
    assert published.path == published_path(str(tmp_path / 'r20-pruned.pth'),
                                             published.sha256)
    with open(published.path, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == published.sha256
    assert sorted(published.removed_keys) == [
        'message_hub', 'optimizer', 'param_schedulers']
    assert 'hook_msgs' in published.removed_meta and \
        'cfg' in published.removed_meta
    assert set(published.meta_from_config) == {'pruned_widths',
                                               'stage_widths', 'coupled'}

    checkpoint = torch.load(published.path, weights_only=True)
    meta = checkpoint['meta']
    assert meta['pruned_widths'] == result.widths
    assert meta['stage_widths'] == result.stage_widths and meta['coupled']
    assert meta['dataset_meta'] == DATASET_META
    state = checkpoint['state_dict']
    assert set(state) == set(source['state_dict'])
    assert all(torch.equal(v, source['state_dict'][k])
               for k, v in state.items())

    # the published file alone rebuilds the pruned shape (its meta) and
    # loads strictly into it
    model = copy.deepcopy(ARCHITECTURE)
    model['backbone'] = dict(type='astro_mm.PrunedBackbone', base=BACKBONE,
                             widths=published.path)
    model['head']['in_channels'] = meta['stage_widths']['layer3']
    rebuilt = MODELS.build(model)
    rebuilt.load_state_dict(state, strict=True)
    rebuilt.eval()
    inputs = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(rebuilt(inputs, mode='tensor'),
                           result.model.eval()(inputs, mode='tensor'))


def test_a_checkpoint_that_does_not_fit_the_config_is_refused(pruned_run,
                                                              tmp_path):
    unpruned = tmp_path / 'r20_unpruned.pth'
    _runner_checkpoint(pruned_run['unpruned'], unpruned)
    with pytest.raises(CheckpointMismatchError,
                       match=r'layer backbone\.conv1: backbone\.conv1\.weight'
                       r' has shape \(8, 1, 3, 3\) in the checkpoint'):
        publish_checkpoint(str(unpruned), str(tmp_path / 'x.pth'),
                           config=str(pruned_run['config']))
    # widths in the meta (tools/prune.py's) that the config does not build
    source = pruned_run['source']
    widths = copy.deepcopy(pruned_run['result'].widths)
    first = next(iter(widths))
    widths[first][0] += 1
    source['meta']['pruned_widths'] = widths
    torch.save(source, pruned_run['checkpoint'])
    with pytest.raises(ValueError, match='meta.pruned_widths .* not of this '
                       'config'):
        publish_checkpoint(str(pruned_run['checkpoint']),
                           str(tmp_path / 'y.pth'),
                           config=str(pruned_run['config']))
    assert not list(tmp_path.glob('x-*.pth')) + list(tmp_path.glob('y-*.pth'))
