"""DenseNet-BC for CIFAR (Huang et al. 2017), on mmpretrain's DenseNet.

mmpretrain's ``DenseNet`` has the ImageNet stem (7x7 conv, stride 2, then a
max-pool), which leaves a 32x32 image 8x8 before the first dense block. The
CIFAR networks of the DenseNet paper, and so MA-Net's DNT-BC, start with a
single 3x3 conv of ``2 * growth_rate`` filters at stride 1 and no norm (the
first dense layer is pre-activated): this class swaps only the stem, as
mmpretrain's ``ResNet_CIFAR`` does for ResNets. Dense blocks, transitions
(compression 0.5: the "C" of BC) and bottlenecks (``bn_size=4``: the "B")
are mmpretrain's, so module names and modulation rules are DenseNet's.
"""
import torch.nn as nn
from mmpretrain.models import DenseNet

from astro_mm.registry import MODELS


@MODELS.register_module()
class DenseNet_CIFAR(DenseNet):
    """DenseNet-BC with the CIFAR stem.

    Architectures (``arch``), named by depth L and growth rate k as in the
    DenseNet paper (L = 3 * 2 * n + 4 for n bottleneck layers per block):

    * ``'bc-100-k12'`` (0.8 M, 95.5 % on CIFAR-10 in the DenseNet paper),
    * ``'bc-190-k40'`` (25.6 M, 96.5 %: MA-Net Tab. 7's DNT-BC baseline),
    * ``'bc-40-k12'`` (a small one for the demo set),
    * ``'bc-tiny'``, ``'bc-orgn'``, ``'bc-large'``: MA-Net Tab. 10 (Tiny-,
      Orgn- and Large-DNT-BC), four dense blocks whose outputs are
      64-128-128-256, 64-128-256-512 and 64-256-256-512 channels.

    Tab. 10 gives these sizes only as "the output of the four dense blocks".
    Choice: growth rate 16, a 32-channel stem and compression 0.5, so that
    block i outputs c_i = c_{i-1} / 2 + 16 * n_i channels; the depths n
    follow exactly (orgn: 2, 6, 12, 24). They have 0.4-1.2 M parameters, far
    from the table's 7.25-7.94 M after pruning (whose Orgn row equals Tab.
    7's, pruned from the 25.6 M ``bc-190-k40``): the table cannot be matched
    by both its widths and its sizes.

    Args:
        arch (str | dict): A name above or mmpretrain's dict with
            ``growth_rate``, ``depths`` and ``init_channels``.
        **kwargs: mmpretrain ``DenseNet``'s other arguments.
    """
    arch_settings = {
        'bc-40-k12': dict(growth_rate=12, depths=[6, 6, 6], init_channels=24),
        'bc-100-k12': dict(
            growth_rate=12, depths=[16, 16, 16], init_channels=24),
        'bc-190-k40': dict(
            growth_rate=40, depths=[31, 31, 31], init_channels=80),
        'bc-tiny': dict(
            growth_rate=16, depths=[2, 6, 4, 12], init_channels=32),
        'bc-orgn': dict(
            growth_rate=16, depths=[2, 6, 12, 24], init_channels=32),
        'bc-large': dict(
            growth_rate=16, depths=[2, 14, 8, 24], init_channels=32),
    }

    def __init__(self, arch='bc-100-k12', in_channels=3, **kwargs):
        if isinstance(arch, str) and arch not in self.arch_settings:
            raise ValueError(f'DenseNet_CIFAR arch {arch!r} is not one of '
                             f'{sorted(self.arch_settings)}; or pass a dict')
        super().__init__(arch=arch, in_channels=in_channels, **kwargs)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, self.init_channels, kernel_size=3,
                      stride=1, padding=1, bias=False))
