"""Reading the converged Fashion-MNIST study from its archive.

The study (configs/suites/converged-study_fashion-mnist.py) is read beyond
its table by ``benchmarks/study_reading.py``: how P moved, where each
pruner cut, and how the budget-aware rows compare with the standard pruners
seed by seed. These are the reads of one unit's files; the script prints
the figures.
"""
import json
import os.path as osp

import numpy as np

from .et_curves import read_et_curve

# the standard pruners the budget-aware rows are compared with
STANDARD = ('random', 'l1', 'bn_scale', 'taylor', 'group_norm')
BUDGETS = ('60', '40')
STAGES = ('layer1', 'layer2', 'layer3')


def read_json(path: str):
    """The JSON file at ``path``."""
    with open(path) as f:
        return json.load(f)


def p_summary(archive: str, run: str) -> str:
    """The line of ``run``'s P, seed 0: mean P first / last, last range
    and count below 0.5, max e^t."""
    history = np.load(osp.join(archive, run, 'seed0', 'p_history.npz'))
    layers = [history[k] for k in history.files if k.startswith('p/')]
    if not layers:
        raise ValueError(f'{run}/seed0/p_history.npz holds no p/* arrays')
    first = np.concatenate([p[0].ravel() for p in layers])
    last = np.concatenate([p[-1].ravel() for p in layers])
    try:
        _, e_t = read_et_curve(osp.join(archive, run, 'seed0'))
        e_t_max = f'{e_t.max():.2g}'
    except ValueError:  # MA-Net logs no e^t
        e_t_max = '-'
    return (f'{run}: mean P {first.mean():.4f} -> {last.mean():.4f}, range '
            f'{last.min():.3f}-{last.max():.3f}, below 0.5: '
            f'{int((last < 0.5).sum())}/{last.size}, max e^t {e_t_max}')


def finetuned(archive: str, run: str, seed: int, prune: str) -> float:
    """The fine-tuned top-1 of ``run``'s prune ``prune`` at ``seed``.

    Raises:
        KeyError: The unit's result.json has no such fine-tuned prune
            (named with the file).
    """
    result = read_json(osp.join(archive, run, f'seed{seed}', 'result.json'))
    try:
        return result['pruned'][prune]['top1_finetuned']
    except KeyError:
        raise KeyError(f'{run}/seed{seed}/result.json has no fine-tuned '
                       f'prune {prune!r}') from None
