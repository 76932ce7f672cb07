"""The benchmark figures (astro_mm.analysis) and the P history behind them."""
import json
import os.path as osp
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from matplotlib import image as mpimg
from mmengine.logging import MMLogger

import astro_mm  # noqa: F401
from astro_mm.analysis import (grad_cam, gradcam_compare, load_classifier,
                               load_image, plot_et_curves, plot_p_histograms,
                               plot_params_vs_accuracy, read_et_curve)
from astro_mm.engine import ProbabilityHistoryHook
from astro_mm.engine.hooks import load_probability_history
from conftest import ROOT, run_tool

# 8 iterations, a round every 2: warm-up (0-1), Phi (2-3), W (4-5), Phi (6-7);
# a ResNet-18 (CIFAR) of base width 8, P recorded every 2 iterations.
TINY = """
_base_ = '{root}/configs/astronet/astronet_resnet18-cifar_1xb64-3e_demo-cifar.py'
data_root = '{data}'
model = dict(
    warmup_rounds=1,
    modulator=dict(width=4, num_iters=2),
    architecture=dict(
        backbone=dict(stem_channels=8, base_channels=8),
        head=dict(in_channels=64)))
train_dataloader = dict(
    batch_size=8,
    dataset=dict(data_root=data_root, pipeline=[dict(type='PackInputs')]),
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True))
val_dataloader = dict(batch_size=32, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=8, val_interval=1000)
param_scheduler = []
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=5), logger=dict(interval=1))
log_processor = dict(by_epoch=False)
custom_hooks = [
    dict(type='astro_mm.AlternationHook', round_unit='iter', round_interval=2),
    dict(type='astro_mm.ProbabilityHistoryHook', interval=2),
]
"""
# units per stage of that backbone, stem excluded: 2 blocks of 2 convs of
# width w, plus the downsample conv from layer2 on
STAGE_UNITS = {'layer1': 4 * 8, 'layer2': 5 * 16, 'layer3': 5 * 32,
               'layer4': 5 * 64}
CLASSIFIER = """
default_scope = 'mmpretrain'
custom_imports = dict(imports=['astro_mm'], allow_failed_imports=False)
data_preprocessor = dict(
    num_classes=10, mean=[125.3, 123.0, 113.9], std=[51.6, 50.8, 51.3],
    to_rgb=False)
tnet = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8,
                  base_channels=8),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
              loss=dict(type='CrossEntropyLoss')))
train_dataloader = dict(dataset=dict(type='CIFAR10', pipeline=[
    dict(type='RandomCrop', crop_size=32, padding=4), dict(type='PackInputs')]))
test_dataloader = dict(
    dataset=dict(type='CIFAR10', pipeline=[dict(type='PackInputs')]))
"""
PLAIN_MODEL = 'model = tnet\n'
ASTRO_MODEL = """model = dict(
    type='astro_mm.AlternatingAlgorithm', architecture=tnet,
    modulator=dict(type='astro_mm.AstroNetModulator', width=4, num_iters=2),
    warmup_rounds=1)
"""
CLASSES = [f'class{i}' for i in range(10)]


def read_png(path):
    """The decoded PNG, after checking it is a non-trivial RGB(A) image."""
    assert osp.getsize(path) > 2000, path
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4), pixels.shape
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels.std() > 0.01  # not a blank canvas
    return pixels


def differ(a, b):
    return a.shape != b.shape or not np.array_equal(a, b)


# ------------------------------------------------------- the training run
@pytest.fixture(scope='module')
def astronet_run(demo_root, tmp_path_factory):
    """An AstroNet run stopped after 5 iterations and resumed to 8."""
    tmp = tmp_path_factory.mktemp('astronet_run')
    config = tmp / 'tiny_astronet.py'
    config.write_text(TINY.format(root=ROOT, data=demo_root / 'demo_cifar'))
    work_dir = tmp / 'work'
    env = {'OMP_NUM_THREADS': '1'}
    run_tool('tools/train.py', str(config), '--work-dir', str(work_dir),
             '--cfg-options', 'train_cfg.max_iters=5', env=env)
    first = dict(load_probability_history(str(work_dir / 'p_history.npz')))
    run_tool('tools/train.py', str(config), '--work-dir', str(work_dir),
             '--resume', env=env)
    return SimpleNamespace(work_dir=str(work_dir), first=first,
                           history=str(work_dir / 'p_history.npz'))


def test_p_history_has_stages_skips_warmup_and_appends_on_resume(astronet_run):
    first = astronet_run.first
    # every 2 iterations and at the end of training; step 2 is warm-up
    assert first['step'].tolist() == [4, 5]
    assert first['round'].tolist() == [2, 3]
    history = load_probability_history(astronet_run.history)
    assert history['step'].tolist() == [4, 5, 6, 8]
    assert history['round'].tolist() == [2, 3, 3, 4]
    stages = [k for k in history if k.startswith('p/')]
    assert stages == [f'p/{s}' for s in STAGE_UNITS]
    for stage, units in STAGE_UNITS.items():
        probs = history[f'p/{stage}']
        assert probs.shape == (4, units)
        assert ((probs > 0) & (probs < 1)).all()
        # the resumed run kept the first run's records as they were
        np.testing.assert_array_equal(probs[:2], first[f'p/{stage}'])
        # steps 5 and 6 are one W-round: the P cached at its start
        np.testing.assert_array_equal(probs[1], probs[2])
    # a Phi-round changed P
    assert not np.array_equal(history['p/layer4'][2], history['p/layer4'][3])


def _tiny_algorithm():
    from mmengine.registry import DefaultScope

    from astro_mm.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        algorithm = MODELS.build(dict(
            type='astro_mm.AlternatingAlgorithm',
            architecture=dict(
                type='mmpretrain.ImageClassifier',
                backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                              stem_channels=8, base_channels=8),
                neck=dict(type='mmpretrain.GlobalAveragePooling'),
                head=dict(type='mmpretrain.LinearClsHead', num_classes=10,
                          in_channels=64)),
            modulator=dict(type='astro_mm.AstroNetModulator', width=4,
                           num_iters=2),
            warmup_rounds=1))
    algorithm.set_round(3)  # a W-round
    algorithm.cached_probs.uniform_(0.2, 0.8)
    return algorithm


def _runner(algorithm, work_dir, iteration):
    """What the hook reads of mmengine's runner."""
    return SimpleNamespace(
        model=algorithm, work_dir=str(work_dir), iter=iteration, max_iters=100,
        logger=MMLogger.get_current_instance())


def _record_at(hook, runner, step):
    runner.iter = step - 1
    hook.after_train_iter(runner, batch_idx=step - 1)


def test_history_hook_reads_cached_p_in_w_rounds(tmp_path):
    """Recording in a W-round never runs the modulator (P is cached)."""
    algorithm = _tiny_algorithm()

    def no_modulator(*args, **kwargs):
        raise AssertionError('the modulator ran in a W-round')

    algorithm.modulator.forward = no_modulator
    runner = _runner(algorithm, tmp_path, 0)
    hook = ProbabilityHistoryHook(interval=10)
    hook.before_train(runner)
    _record_at(hook, runner, 10)
    _record_at(hook, runner, 15)  # not a multiple of the interval
    history = load_probability_history(str(tmp_path / 'p_history.npz'))
    assert history['step'].tolist() == [10]
    recorded = np.concatenate([history[f'p/{s}'][0] for s in STAGE_UNITS])
    np.testing.assert_array_equal(recorded, algorithm.cached_probs.numpy())


def test_history_hook_redoes_records_after_the_resumed_checkpoint(tmp_path):
    algorithm = _tiny_algorithm()
    hook = ProbabilityHistoryHook(interval=10)
    runner = _runner(algorithm, tmp_path, 0)
    hook.before_train(runner)
    for step in (10, 20, 30):
        _record_at(hook, runner, step)
    # crashed after step 30, resumed from the checkpoint of step 20
    resumed = ProbabilityHistoryHook(interval=10)
    runner.iter = 20
    resumed.before_train(runner)
    _record_at(resumed, runner, 40)
    history = load_probability_history(str(tmp_path / 'p_history.npz'))
    assert history['step'].tolist() == [10, 20, 40]
    # a fresh run in the same work dir starts a new history
    fresh = ProbabilityHistoryHook(interval=10)
    runner.iter = 0
    fresh.before_train(runner)
    _record_at(fresh, runner, 10)
    history = load_probability_history(str(tmp_path / 'p_history.npz'))
    assert history['step'].tolist() == [10]


def test_history_hook_needs_an_alternating_algorithm(tmp_path):
    hook = ProbabilityHistoryHook()
    with pytest.raises(TypeError, match='AlternatingAlgorithm'):
        hook.before_train(_runner(torch.nn.Linear(2, 2), tmp_path, 0))


def test_history_hook_rejects_bad_arguments():
    with pytest.raises(ValueError, match='interval'):
        ProbabilityHistoryHook(interval=0)
    with pytest.raises(ValueError, match='.npz'):
        ProbabilityHistoryHook(filename='p_history.json')


# ------------------------------------------------------------ e^t curves
def _write_scalars(work_dir, records, stamp='20240101_000000'):
    folder = work_dir / stamp / 'vis_data'
    folder.mkdir(parents=True)
    (folder / 'scalars.json').write_text(
        ''.join(json.dumps(r) + '\n' for r in records))
    return str(work_dir)


def _synthetic_run(tmp_path, name, values):
    records = [dict(step=i + 1, loss=1.0, phase=2, e_t=v)
               for i, v in enumerate(values)]
    return _write_scalars(tmp_path / name, records)


def test_et_curve_reads_fresh_phi_values_across_resume(astronet_run):
    steps, values = read_et_curve(astronet_run.work_dir)
    # Phi-rounds are iterations 2-3 and 6-7 (logged as steps 3, 4 and 7, 8),
    # the first two by the first run, the others by the resumed one
    assert steps.tolist() == [3, 4, 7, 8]
    assert np.isfinite(values).all() and (values > 0).all()


def test_plot_et_curves_png_depends_on_runs(astronet_run, tmp_path):
    other = _synthetic_run(tmp_path, 'other', [1.0, 0.5, 0.25, 0.2])
    one = read_png(plot_et_curves(
        {'lambda=1e-3': astronet_run.work_dir}, str(tmp_path / 'one.png')))
    two = read_png(plot_et_curves(
        {'lambda=1e-3': astronet_run.work_dir, 'lambda=1e-1': other},
        str(tmp_path / 'two.png')))
    assert differ(one, two)


def test_et_curves_errors_name_the_work_dir(tmp_path):
    no_et = _write_scalars(tmp_path / 'manet', [
        dict(step=1, loss=1.0, phase=2, loss_reg=0.1)])
    with pytest.raises(ValueError, match='manet.*no e_t'):
        plot_et_curves({'manet': no_et}, str(tmp_path / 'x.png'))
    stale = _write_scalars(tmp_path / 'stale', [
        dict(step=1, loss=1.0, phase=1, e_t=0.3)])
    with pytest.raises(ValueError, match='stale.*only at W-round'):
        read_et_curve(stale)
    with pytest.raises(FileNotFoundError, match='missing'):
        read_et_curve(str(tmp_path / 'missing'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='empty.*scalars.json'):
        read_et_curve(str(tmp_path / 'empty'))
    with pytest.raises(ValueError, match='.png'):
        plot_et_curves({'a': no_et}, str(tmp_path / 'x.pdf'))


# --------------------------------------------------------- P histograms
def test_plot_p_histograms_png_depends_on_history(astronet_run, tmp_path):
    real = read_png(plot_p_histograms(astronet_run.history,
                                      str(tmp_path / 'real.png')))
    # the same stages with half of layer4 pushed below delta
    history = dict(load_probability_history(astronet_run.history))
    history['p/layer4'] = history['p/layer4'].copy()
    history['p/layer4'][:, ::2] = 1e-5
    pruned_file = str(tmp_path / 'pruned.npz')
    np.savez(pruned_file, **history)
    pruned = read_png(plot_p_histograms(pruned_file,
                                        str(tmp_path / 'pruned.png')))
    assert differ(real, pruned)


def test_p_histograms_bin_every_unit_of_saturated_gates():
    """A budget-aware run's gates saturate: float32 P of exactly 1 and 1e-40.
    Every unit lands in a bin (the first / last), none is dropped."""
    from astro_mm.analysis.p_histograms import (_axis_limits, _logit_ticks,
                                                binned_counts)
    probs = np.array([1.0] * 5 + [1e-40] * 3 + [0.5, 0.99999994],
                     dtype=np.float32)
    low, high = _axis_limits(probs, 1e-3)
    edges = np.linspace(low, high, 7)
    counts = binned_counts(probs, edges)
    assert counts.sum() == len(probs)
    assert counts[-1] == 6 and counts[0] == 3
    # P down to 1e-40: at most 5 decade labels per side, not one per decade
    ticks = _logit_ticks(1e-41, 1 - 1e-9)
    assert sum(t < 0.5 for t in ticks) <= 5
    assert sum(t > 0.5 for t in ticks) <= 5
    assert 0.5 in ticks and ticks == sorted(ticks)


def test_p_histograms_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.npz'):
        plot_p_histograms(str(tmp_path / 'nowhere.npz'), str(tmp_path / 'x.png'))
    np.savez(tmp_path / 'other.npz', weights=np.zeros(3))
    with pytest.raises(ValueError, match='not a P history'):
        plot_p_histograms(str(tmp_path / 'other.npz'), str(tmp_path / 'x.png'))
    with pytest.raises(ValueError, match='delta'):
        plot_p_histograms(str(tmp_path / 'other.npz'), str(tmp_path / 'x.png'),
                          delta=2.0)


# --------------------------------------------------------------- Grad-CAM
@pytest.fixture(scope='module')
def classifiers(tmp_path_factory):
    """Plain and astro tiny classifiers sharing W; P = 1 and P random."""
    from mmpretrain.apis import get_model
    torch.manual_seed(0)
    tmp = tmp_path_factory.mktemp('classifiers')
    paths = {}
    plain_cfg, astro_cfg = tmp / 'plain.py', tmp / 'astro.py'
    plain_cfg.write_text(CLASSIFIER + PLAIN_MODEL)
    astro_cfg.write_text(CLASSIFIER + ASTRO_MODEL)
    meta = dict(dataset_meta=dict(classes=CLASSES))
    plain = get_model(str(plain_cfg), device='cpu')
    plain.init_weights()  # Kaiming, as training starts: features of scale
    torch.save(dict(state_dict=plain.state_dict(), meta=meta), tmp / 'plain.pth')
    paths['plain'] = (str(plain_cfg), str(tmp / 'plain.pth'))
    astro = get_model(str(astro_cfg), device='cpu')
    astro.architecture.load_state_dict(plain.state_dict())
    astro.round.fill_(3)  # a W-round: the TNet runs under cached_probs
    for name, probs in (('astro_p1', torch.ones_like(astro.cached_probs)),
                        ('astro', torch.rand(astro.cached_probs.shape))):
        astro.cached_probs.copy_(probs)
        torch.save(dict(state_dict=astro.state_dict(), meta=meta),
                   tmp / f'{name}.pth')
        paths[name] = (str(astro_cfg), str(tmp / f'{name}.pth'))
    images = {}
    for name, size in (('chelsea', (40, 56)), ('coffee', (48, 48))):
        picture = load_image(f'skimage:{name}')
        images[name] = str(tmp / f'{name}.png')
        mpimg.imsave(images[name], picture[::picture.shape[0] // size[0],
                                           ::picture.shape[1] // size[1]])
    return SimpleNamespace(paths=paths, images=images)


def test_grad_cam_sees_the_network_under_p(classifiers):
    image = load_image(classifiers.images['chelsea'])
    maps = {}
    for name, (config, checkpoint) in classifiers.paths.items():
        model = load_classifier(config, checkpoint)
        assert model._dataset_meta['classes'] == CLASSES
        maps[name], label, prob = grad_cam(model, image, (32, 32))
        assert 0 <= label < 10 and 0 < prob <= 1
        cam = maps[name]
        assert cam.shape == image.shape[:2]
        assert cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    # P = 1 is the plain network; a random P changes where it looks
    np.testing.assert_allclose(maps['astro_p1'], maps['plain'], atol=1e-5)
    assert np.abs(maps['astro'] - maps['plain']).max() > 0.05


def test_gradcam_compare_grid_depends_on_images(classifiers, tmp_path):
    models = {'plain': classifiers.paths['plain'],
              'astro': classifiers.paths['astro']}
    images = list(classifiers.images.values())
    one = read_png(gradcam_compare(models, images[:1], str(tmp_path / '1.png')))
    two = read_png(gradcam_compare(models, images, str(tmp_path / '2.png')))
    assert two.shape[0] > 1.5 * one.shape[0]  # one row per image
    other = read_png(gradcam_compare(models, images[1:], str(tmp_path / 'o.png')))
    assert differ(one, other)
    with pytest.raises(FileNotFoundError, match='nowhere.png'):
        gradcam_compare(models, [str(tmp_path / 'nowhere.png')],
                        str(tmp_path / 'x.png'))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        gradcam_compare({'x': (models['plain'][0], str(tmp_path / 'missing.pth'))},
                        images, str(tmp_path / 'x.png'))
    with pytest.raises(ValueError, match='no image'):
        load_image('skimage:not_a_photo')


# ------------------------------------------------------ params / accuracy
ROWS = [
    dict(label='R18', method='plain', params_M=11.17, accuracy=94.1,
         accuracy_std=0.3, paper_params_M=11.17, paper_accuracy=94.96),
    dict(label='MA-Net R18', method='MA-Net', params_M=7.2, accuracy=95.9,
         accuracy_std=0.2, paper_params_M=6.94, paper_accuracy=96.81),
    dict(label='AstroNet R18', method='AstroNet', params_M=8.0, accuracy=95.0),
]


def test_params_vs_accuracy_png_depends_on_rows(tmp_path):
    all_rows = read_png(plot_params_vs_accuracy(ROWS, str(tmp_path / 'a.png')))
    moved = [dict(ROWS[0]), *ROWS[1:]]
    moved[0]['accuracy'] = 90.0
    other = read_png(plot_params_vs_accuracy(moved, str(tmp_path / 'b.png')))
    assert differ(all_rows, other)
    with pytest.raises(ValueError, match=r"rows\[1\].*'accuracy'"):
        plot_params_vs_accuracy([ROWS[0], dict(label='x', params_M=1.0)],
                                str(tmp_path / 'c.png'))
    with pytest.raises(ValueError, match='paper_accuracy'):
        plot_params_vs_accuracy([dict(ROWS[2], paper_params_M=3.0)],
                                str(tmp_path / 'c.png'))


# --------------------------------------------------------- command lines
def test_command_lines_write_their_figures(astronet_run, classifiers, tmp_path):
    rows_file = tmp_path / 'rows.json'
    rows_file.write_text(json.dumps(dict(rows=ROWS)))
    config, checkpoint = classifiers.paths['astro']
    calls = {
        'plot_et_curves': ['--run', 'lambda=1e-3', astronet_run.work_dir],
        'plot_p_histograms': [astronet_run.history, '--delta', '1e-2'],
        'gradcam_compare': ['--model', 'astro', config, checkpoint,
                            '--images', classifiers.images['coffee'],
                            '--input-size', '32'],
        'plot_params_vs_accuracy': [str(rows_file)],
    }
    for name, args in calls.items():
        out = str(tmp_path / 'figs' / f'{name}.png')
        run_tool(f'tools/analysis_tools/{name}.py', *args, '--out', out)
        read_png(out)
    shutil.rmtree(tmp_path / 'figs')


def test_pareto_front_keeps_only_undominated_points():
    from astro_mm.analysis.params_accuracy import pareto_front
    points = [(0.27, 91.0), (0.16, 90.5), (0.11, 88.0), (0.16, 89.0),
              (0.20, 90.0), (0.11, 87.0)]
    assert pareto_front(points) == [(0.11, 88.0), (0.16, 90.5), (0.27, 91.0)]


def test_study_points_use_the_finetuned_top1_and_group_by_pruner():
    from mmengine.config import ConfigDict

    from astro_mm.suite.figures import accuracy_points

    def stat(mean):
        return dict(mean=mean, std=0.5, n=3)
    rows = [
        dict(method='plain', label='R20', variant='trained', params_M=0.27,
             top1=stat(90.0), top1_finetuned=stat(91.0), paper={}),
        dict(method='plain', label='R20', variant='pruned l1_60 (l1)',
             pruner='l1', params_M=0.16, top1=stat(80.0),
             top1_finetuned=stat(89.5), paper={}),
        dict(method='manet', label='R20 paper', variant='pruned delta',
             pruner='manet', params_M=0.27, top1=stat(88.0),
             top1_finetuned=dict(mean=None, std=None, n=0), paper={}),
        dict(method='manet', label='R20 budget', variant='pruned gates',
             pruner='manet', params_M=0.16, top1=stat(85.0),
             top1_finetuned=stat(89.9), paper={}),
    ]
    points = accuracy_points(ConfigDict(), rows)
    assert [p['accuracy'] for p in points] == [91.0, 89.5, 88.0, 89.9]
    assert [p['method'] for p in points] == [
        'plain', 'L1-norm', 'MA-Net (R20 paper)', 'MA-Net (R20 budget)']
    assert [p['marker'] for p in points] == ['s', 'o', 'o', 'o']


def test_et_curve_keeps_every_record_of_per_batch_alternation(tmp_path):
    """phase 3: a Phi-step on every batch, so every logged e_t is fresh;
    W-round (1) and warm-up (0) records are still left out."""
    run = _write_scalars(tmp_path / 'batch', [
        dict(step=1, loss=1.0, phase=0, e_t=0.9),
        dict(step=2, loss=1.0, phase=3, e_t=0.5),
        dict(step=3, loss=1.0, phase=3, e_t=0.4),
        dict(step=4, loss=1.0, phase=1, e_t=0.4)])
    steps, values = read_et_curve(run)
    assert steps.tolist() == [2, 3] and values.tolist() == [0.5, 0.4]


def test_a_baseline_on_an_astro_network_is_its_own_group():
    from mmengine.config import ConfigDict

    from astro_mm.suite.figures import accuracy_points
    stat = dict(mean=90.0, std=0.1, n=3)
    rows = [dict(method=m, label='R20', variant='pruned random_60 (random)',
                 pruner='random', params_M=0.16, top1=stat, paper={})
            for m in ('plain', 'astronet')]
    assert [p['method'] for p in accuracy_points(ConfigDict(), rows)] == [
        'random', 'random on AstroNet']
