"""benchmarks/fm_convergence.py turns a config into its runs by options
(astro_mm.analysis.convergence_runs); these must stretch the schedule it
claims to stretch, and refuse a run the config cannot make (no training
here: the script's figures are in benchmarks/RESULTS.md)."""
import os.path as osp

import pytest
from mmengine.config import Config

from astro_mm.analysis.convergence_runs import config_epochs, run_options
from conftest import ROOT

AMP_CONFIG = osp.join(
    ROOT, 'configs/resnet/resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist.py')
FP32_CONFIG = osp.join(
    ROOT, 'configs/resnet/resnet20-cifar-s2_1xb128-4e_fashion-mnist.py')


def options_applied(config: str, options: list) -> Config:
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(dict(option.split('=', 1) for option in options))
    return cfg


def test_2x_doubles_the_epochs_and_stretches_the_cosine():
    epochs = config_epochs(AMP_CONFIG, ['1x', '2x'])
    assert epochs == 5
    cfg = options_applied(AMP_CONFIG, run_options('2x', 5))
    assert int(cfg.train_cfg.max_epochs) == 10
    assert int(cfg.param_scheduler[1].T_max) == 10
    # warm-up untouched: the two runs differ by their length only
    assert cfg.param_scheduler[0].end == 100


def test_1x_fp32_switches_the_autocast_to_float32():
    cfg = options_applied(AMP_CONFIG, run_options('1x_fp32', 5))
    assert cfg.optim_wrapper.type == 'astro_mm.AutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'float32'
    assert run_options('1x', 5) == []


def test_1x_fp32_of_a_float32_config_is_refused_by_name():
    with pytest.raises(ValueError, match='4e_fashion-mnist.py.*1x_fp32'):
        config_epochs(FP32_CONFIG, ['1x', '1x_fp32'])
    assert config_epochs(FP32_CONFIG, ['1x', '2x']) == 4
