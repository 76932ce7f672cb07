"""The runs that check whether a config's schedule has converged.

``benchmarks/fm_convergence.py`` trains a plain config as its own schedule
(``1x``), twice as long with the cosine stretched (``2x``), with the longer
Fashion-MNIST configs' augmentation (``1x_aug``) and with the autocast in
float32 (``1x_fp32``). Here: what turns the config into each run, the
checks that it can be made, and the reading of the finished runs'
``result.json`` files; the script trains and tests.
"""
import json
import math
import os.path as osp
import statistics

from mmengine.config import Config

# the 1x_aug run's config: the given one with the longer schedules'
# augmentation (the study's plain config keeps it as ``augmentation``)
AUGMENTED_CONFIG = """_base_ = '{config}'
train_pipeline = _base_.augmentation + [dict(type='PackInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
"""
RUNS = ('1x', '2x', '1x_aug', '1x_fp32')


def run_options(name: str, epochs: int) -> list:
    """The ``--cfg-options`` that turn the config into run ``name``."""
    if name == '2x':
        return [f'train_cfg.max_epochs={2 * epochs}',
                f'train_cfg.val_interval={2 * epochs}',
                f'param_scheduler.1.T_max={2 * epochs}']
    if name == '1x_fp32':
        return ['optim_wrapper.dtype=float32']
    return []


def config_epochs(config: str, runs) -> int:
    """The config's epochs, after checking that ``runs`` can be made of it:
    its cosine spans them (what ``2x`` stretches), and ``1x_fp32`` needs an
    autocast wrapper to switch to float32.

    Raises:
        ValueError: The config's schedule is not a cosine over its epochs,
            or ``1x_fp32`` is asked of a config that trains in float32.
    """
    cfg = Config.fromfile(config)
    epochs = cfg.train_cfg.max_epochs
    cosine = cfg.param_scheduler[1]
    if cosine.get('type') != 'CosineAnnealingLR' or \
            cosine.get('T_max') != epochs:
        raise ValueError(f'{config}: expected param_scheduler[1] a '
                         f'CosineAnnealingLR with T_max = max_epochs '
                         f'({epochs}), got {cosine}')
    if '1x_fp32' in runs and 'dtype' not in cfg.optim_wrapper:
        raise ValueError(f'{config}: run 1x_fp32 needs an autocast '
                         'optim_wrapper (optim_wrapper.dtype); this config '
                         'trains in float32 already: leave 1x_fp32 out')
    return epochs


def done_mean(name: str, key: str, seeds, work_root: str) -> float:
    """Mean of ``key`` ('top1' or 'minutes') of run ``name`` over the
    seeds; nan unless every seed is done."""
    values = []
    for seed in seeds:
        path = osp.join(work_root, f'{name}_seed{seed}', 'result.json')
        if not osp.isfile(path):
            return math.nan
        with open(path) as f:
            values.append(json.load(f)[key])
    return statistics.mean(values)


def done_machines(name: str, seeds, work_root: str) -> set:
    """``machine.native_bfloat16`` of run ``name``'s finished seeds (None
    for a result from before it was recorded)."""
    record = set()
    for seed in seeds:
        path = osp.join(work_root, f'{name}_seed{seed}', 'result.json')
        if osp.isfile(path):
            with open(path) as f:
                record.add(json.load(f).get('machine', {}).get(
                    'native_bfloat16'))
    return record
