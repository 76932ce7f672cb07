"""Unknown keys in the config of an astro_mm model or hook are refused,
naming the class, the unknown keys and the valid ones, whichever registry
builds it (the runner's, mmdet's for a detector's backbone, astro_mm's)."""
import pytest
from mmengine.registry import DefaultScope

import astro_mm  # noqa: F401  (wraps the libraries' registries)
from astro_mm.registry import ConfigKeyError, accepted_keys


def test_hook_built_by_the_runner_registry():
    from mmengine.registry import HOOKS
    with pytest.raises(ConfigKeyError) as err:
        HOOKS.build(dict(type='astro_mm.AlternationHook', round_unit='iter',
                         round=3))
    assert str(err.value) == (
        "astro_mm.AlternationHook: unknown config keys ['round']; valid "
        "keys: ['alternation', 'round_interval', 'round_unit']")
    hook = HOOKS.build(dict(type='astro_mm.ProbabilityHistoryHook',
                            interval=5))
    assert hook.interval == 5


def test_top_level_model_refused_before_it_is_built():
    from mmengine.registry import MODELS
    with pytest.raises(ConfigKeyError,
                       match=r"astro_mm\.AlternatingAlgorithm: unknown config "
                       r"keys \['seed'\]; valid keys: \[.*'architecture'.*"
                       r"'modulator'"):
        MODELS.build(dict(type='astro_mm.AlternatingAlgorithm',
                          architecture=dict(), modulator=dict(), seed=1))


def test_backbone_built_by_mmdet_and_mmpretrain():
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        with pytest.raises(ConfigKeyError,
                           match=r"astro_mm\.build_pruned_backbone: unknown "
                           r"config keys \['width'\]; valid keys: \['base', "
                           r"'init_cfg', 'stage_widths', 'widths'\]"):
            MMDET_MODELS.build(dict(type='astro_mm.PrunedResNet',
                                    base=dict(type='mmdet.ResNet', depth=18),
                                    width={}))
    # **kwargs are passed on to mmpretrain's DenseNet: its keys are valid
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(ConfigKeyError,
                           match=r"DenseNet_CIFAR: unknown config keys "
                           r"\['growth'\]; valid keys: \[.*'arch', .*"
                           r"'drop_rate'.*'in_channels'"):
            MMPRETRAIN_MODELS.build(dict(type='astro_mm.DenseNet_CIFAR',
                                         arch='bc-100-k12', growth=12))


def test_nested_model_built_by_astro_mm_registry():
    from astro_mm.registry import MODELS
    loss = MODELS.build(dict(type='astro_mm.SupConLoss', temperature=0.1))
    assert loss.temperature == 0.1
    with pytest.raises(ConfigKeyError,
                       match=r"SupConLoss: unknown config keys \['tau'\]; "
                       r"valid keys: \['loss_weight', 'temperature'\]"):
        MODELS.build(dict(type='astro_mm.SupConLoss', tau=0.1))


def test_other_libraries_types_are_left_to_them():
    from mmengine.registry import HOOKS
    assert HOOKS.build(dict(type='CheckpointHook', interval=2)).interval == 2


def test_accepted_keys_follow_kwargs_up_the_mro():
    class Base:
        def __init__(self, a, b=1):
            pass

    class Child(Base):
        def __init__(self, c, **kwargs):
            super().__init__(**kwargs)

    class Swallows:
        def __init__(self, **kwargs):  # object takes none of them
            pass

    def build(x, **kwargs):
        pass

    assert accepted_keys(Child) == {'a', 'b', 'c'}
    assert accepted_keys(Swallows) == set()
    assert accepted_keys(build) is None  # any key: nothing to check
