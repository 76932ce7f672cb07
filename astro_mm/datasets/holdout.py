"""A validation split carved out of a training set.

Hyperparameters of a benchmark (a pruner's ranking rule, slimming's lambda,
the Phi optimizer's learning rate) are chosen on data the final figures are
not measured on. :class:`HoldOutSubset` takes a fixed, seeded share of a
training set out of it: ``part='fit'`` is what a model trains on,
``part='holdout'`` what its settings are chosen on; the test set stays for
the reported figures. The two parts are disjoint and together are the whole
set, for every seed.

Why a wrapper and not mmengine's ``indices`` argument: ``indices`` takes
the first N samples or an explicit list; a seeded random hold-out written
as a list would put tens of thousands of integers into every dumped config
(tools/prune.py writes one per pruned row).
"""
from typing import Union

import numpy as np
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from torch.utils.data import Dataset

from astro_mm.registry import DATASETS

PARTS = ('fit', 'holdout')


@DATASETS.register_module()
class HoldOutSubset(Dataset):
    """One part of a dataset split into a training part and a held-out one.

    Args:
        dataset (dict | Dataset): The whole training set (a config is built
            under the config's default scope, e.g. mmpretrain's
            ``FashionMNIST``).
        part (str): ``'fit'`` (the samples left for training) or
            ``'holdout'`` (the held-out ones, for validation).
        holdout (int): How many samples are held out.
        seed (int): Seed of the permutation that picks them (the same seed
            gives the same split on every machine: numpy's PCG64).

    Raises:
        ValueError: ``part`` is not one of :data:`PARTS`, or ``holdout``
            is not between 1 and the dataset's size minus 1.
    """

    def __init__(self, dataset: Union[dict, Dataset], part: str,
                 holdout: int, seed: int = 0):
        if part not in PARTS:
            raise ValueError(f'HoldOutSubset: part must be one of {PARTS}, '
                             f'got {part!r}')
        self.dataset = (MMENGINE_DATASETS.build(dataset)
                        if isinstance(dataset, dict) else dataset)
        size = len(self.dataset)
        if not 0 < holdout < size:
            raise ValueError(f'HoldOutSubset: holdout must be between 1 and '
                             f'{size - 1} (the dataset has {size} samples), '
                             f'got {holdout}')
        order = np.random.default_rng(seed).permutation(size)
        chosen = order[:holdout] if part == 'holdout' else order[holdout:]
        # sorted: the wrapped set's own order within the part
        self.indices = np.sort(chosen)
        self.part, self.holdout, self.seed = part, holdout, seed

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's metainfo (classes), as mmengine reads it."""
        return self.dataset.metainfo

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        return self.dataset[int(self.indices[index])]
