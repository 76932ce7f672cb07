"""Grad-CAM maps of plain vs astro classifiers on the same images
(AstroNet supp. Fig. 2, 3, 5).

Images are files or scikit-image's photos (``skimage:astronaut``,
``skimage:chelsea``, ``skimage:coffee``). Example::

    python tools/analysis_tools/gradcam_compare.py \
        --model ResNet-18 configs/resnet/resnet18-cifar_1xb64-3e_demo-cifar.py \
            work_dirs/resnet18-cifar_1xb64-3e_demo-cifar/epoch_3.pth \
        --model AstroNet configs/astronet/astronet_resnet18-cifar_1xb64-3e_demo-cifar.py \
            work_dirs/astronet_resnet18-cifar_1xb64-3e_demo-cifar/epoch_3.pth \
        --images skimage:chelsea skimage:coffee skimage:astronaut \
        --out work_dirs/figures/gradcam.png
"""
import argparse

from astro_mm.analysis import gradcam_compare


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--model',
        nargs=3,
        action='append',
        required=True,
        metavar=('LABEL', 'CONFIG', 'CHECKPOINT'),
        help='a column: its title, the classifier config and checkpoint '
        '(repeat for several models)')
    parser.add_argument(
        '--images', nargs='+', required=True,
        help='image files or skimage:<name>, one row each')
    parser.add_argument('--out', required=True, help='the PNG to write')
    parser.add_argument(
        '--input-size',
        type=int,
        nargs='+',
        help='model input H [W]; default: from each config\'s pipeline')
    parser.add_argument(
        '--target-layer',
        help='module inside the TNet to explain (default: the backbone\'s '
        'last stage, e.g. backbone.layer4)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    models = {label: (config, ckpt) for label, config, ckpt in args.model}
    size = None
    if args.input_size:
        size = tuple(args.input_size * 2)[:2]
    print(gradcam_compare(models, args.images, args.out, input_size=size,
                          target_layer=args.target_layer))


if __name__ == '__main__':
    main()
