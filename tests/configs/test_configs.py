"""Every config loads, says what it reproduces, and builds its model."""
import ast
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import ROOT

# model configs; the benchmark suites (configs/suites) are checked by
# tests/suite/test_benchmark_suite.py
CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p and '/suites/' not in p)
# ImageNet / COCO models are the same modules at other sizes: load them only
BUILT = [c for c in CONFIGS if c.startswith(('configs/resnet', 'configs/manet',
                                             'configs/astronet',
                                             'configs/gates'))
         and 'in1k' not in c]


def test_every_config_is_listed():
    assert len(CONFIGS) > 50 and len(BUILT) > 30


@pytest.mark.parametrize('config', CONFIGS)
def test_config_loads_and_names_its_row(config):
    with open(osp.join(ROOT, config)) as f:
        doc = ast.get_docstring(ast.parse(f.read()))
    assert doc, f'{config} needs a docstring naming what it reproduces'
    cfg = Config.fromfile(osp.join(ROOT, config))
    assert cfg.model.type and cfg.train_dataloader and cfg.val_evaluator
    # astro_mm's components, and its compatibility layer (opt-in)
    assert cfg.custom_imports['imports'] == ['astro_mm',
                                             'astro_mm.compat.enable']
    init_cfg = cfg.model.get('backbone', {}).get('init_cfg') or {}
    if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        assert init_cfg.get('_scope_') == 'astro_mm'  # the strict load


@pytest.mark.parametrize('config', BUILT)
def test_classification_model_builds(config):
    from astro_mm.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, config))
    if 'data_preprocessor' in cfg:
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    if cfg.model.type == 'astro_mm.AlternatingAlgorithm':
        assert model.layers[0].name != 'conv1'  # the stem is not modulated
        units = sum(layer.num_units for layer in model.layers)
        assert model.cached_probs.numel() == units
        expected = cfg.model.modulator.type.split('.')[-1]
        assert type(model.modulator).__name__ == expected
        if 'wide-resnet50' in config:
            assert max(layer.num_units for layer in model.layers) == 2048
            assert model.layers[0].num_units == 128  # wide inner channels
