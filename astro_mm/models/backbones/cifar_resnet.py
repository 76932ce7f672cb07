"""The CIFAR ResNets of He et al. 2016 (ResNet-20/32/44/56/110).

The standard network of the structured-pruning literature (network
slimming, ResRep, DepGraph report on CIFAR ResNet-56): three stages of
6n + 2 layers with 16-32-64 channels. mmpretrain's ``ResNet_CIFAR`` has the
CIFAR stem but only the ImageNet depths (18-152, 64-512 channels); this
class adds the CIFAR depths on top of it, so its blocks are mmpretrain's
``BasicBlock`` and every astro_mm rule for ResNets applies unchanged. The
shortcut of a block that changes width is a 1x1 conv + BN (option B of the
ResNet paper, as Torch-Pruning's CIFAR benchmarks use).
"""
from mmpretrain.models.backbones.resnet import BasicBlock
from mmpretrain.models.backbones.resnet_cifar import ResNet_CIFAR

from astro_mm.registry import MODELS


@MODELS.register_module()
class CIFARResNet(ResNet_CIFAR):
    """ResNet-(6n+2) for 32x32 (or 28x28) images.

    Args:
        depth (int): 20, 32, 44, 56 or 110.
        in_channels (int): Image channels (1 for Fashion-MNIST).
        base_channels (int): Width of the first stage (16).
        stem_stride (int): Stride of the stem conv. 1 is the CIFAR ResNet;
            2 runs the three stages at half the resolution (4x fewer
            FLOPs, the same parameters), what the converged Fashion-MNIST
            study affords on a 2-core CPU.
        Other arguments as mmpretrain's ``ResNet``.
    """
    arch_settings = {
        depth: (BasicBlock, ((depth - 2) // 6, ) * 3)
        for depth in (20, 32, 44, 56, 110)
    }

    def __init__(self,
                 depth: int,
                 in_channels: int = 3,
                 stem_channels: int = 16,
                 base_channels: int = 16,
                 num_stages: int = 3,
                 strides=(1, 2, 2),
                 dilations=(1, 1, 1),
                 out_indices=(2, ),
                 stem_stride: int = 1,
                 **kwargs):
        if depth not in self.arch_settings:
            raise KeyError(f'CIFARResNet depth must be one of '
                           f'{sorted(self.arch_settings)}, got {depth}')
        super().__init__(
            depth,
            in_channels=in_channels,
            stem_channels=stem_channels,
            base_channels=base_channels,
            num_stages=num_stages,
            strides=strides,
            dilations=dilations,
            out_indices=out_indices,
            **kwargs)
        if stem_stride not in (1, 2):
            raise ValueError(f'CIFARResNet stem_stride must be 1 or 2, got '
                             f'{stem_stride}')
        self.conv1.stride = (stem_stride, stem_stride)
