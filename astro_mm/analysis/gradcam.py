"""Grad-CAM attention of plain and astro backbones, side by side
(AstroNet supp. Fig. 2, 3 and 5).

Grad-CAM (Selvaraju et al., ICCV 2017) weighs the feature maps of a layer by
the spatial mean of the predicted class score's gradient and keeps the
positive part. It is a dozen lines with a forward hook and
:func:`torch.autograd.grad`, so the ``pytorch-grad-cam`` package (not in this
environment) is not needed: a hand-written version also sees an
:class:`astro_mm.AlternatingAlgorithm` exactly as it predicts, under its
current P, with no wrapper to adapt.
"""
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from mmengine.config import Config
from PIL import Image
from torch import nn

from astro_mm.families import resolve_family
from .figure_io import check_png_path, save_figure

SKIMAGE_PREFIX = 'skimage:'


def load_image(spec: str) -> np.ndarray:
    """An RGB ``uint8`` image (H, W, 3) from a file or scikit-image's photos.

    Args:
        spec (str): A file path, or ``'skimage:<name>'`` for a photo that
            scikit-image ships (``skimage:astronaut``, ``skimage:chelsea``,
            ``skimage:coffee``, ...): real images, no download.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: scikit-image has no such photo.
    """
    if spec.startswith(SKIMAGE_PREFIX):
        import skimage.data
        name = spec[len(SKIMAGE_PREFIX):]
        loader = getattr(skimage.data, name, None)
        if not callable(loader):
            raise ValueError(f'{spec!r}: skimage.data has no image {name!r} '
                             '(e.g. astronaut, chelsea, coffee)')
        image = np.asarray(loader())
    else:
        if not osp.isfile(spec):
            raise FileNotFoundError(f'image {spec!r} does not exist')
        with Image.open(spec) as img:
            image = np.asarray(img.convert('RGB'))
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3]).astype(np.uint8)


def input_size_of(cfg: Config) -> Tuple[int, int]:
    """(H, W) a classifier config feeds its model.

    The test pipeline's crop / resize when it has one (ImageNet:
    ``CenterCrop(224)``); else the train pipeline's (CIFAR test images are
    used at their stored 32 x 32, the train crop says so).

    Raises:
        ValueError: neither pipeline names a size.
    """
    for loader in ('test_dataloader', 'train_dataloader'):
        pipeline = cfg.get(loader, {}).get('dataset', {}).get('pipeline', [])
        for key in ('crop_size', 'scale'):
            for step in reversed(pipeline):
                size = step.get(key)
                if size is not None:
                    h, w = (size, size) if isinstance(size, int) else size[::-1]
                    return int(h), int(w)
    raise ValueError(f'{cfg.filename}: no crop_size / scale in the test or '
                     'train pipeline; pass input_size=(H, W)')


def load_classifier(config: str, checkpoint: str, device: str = 'cpu') -> nn.Module:
    """A classifier of this repo from its config and checkpoint, in eval mode.

    Built by mmpretrain's :func:`~mmpretrain.apis.get_model`, so plain
    ``ImageClassifier`` configs and ``astro_mm.AlternatingAlgorithm`` configs
    both load; the latter restores its round and cached P from the
    checkpoint and predicts under the P it was trained to. mmpretrain keeps
    the config in ``model._config`` and the class names in
    ``model._dataset_meta``.

    Raises:
        FileNotFoundError: the config or the checkpoint does not exist.
    """
    from mmpretrain.apis import get_model
    for kind, path in (('config', config), ('checkpoint', checkpoint)):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{kind} {path!r} does not exist')
    return get_model(config, pretrained=checkpoint, device=device)


def _task_network(model: nn.Module) -> nn.Module:
    """The TNet: the algorithm's architecture, or the classifier itself."""
    return getattr(model, 'architecture', model)


def default_target_layer(model: nn.Module) -> str:
    """Name (inside the TNet) of the backbone's last stage, Grad-CAM's layer.

    Raises:
        ValueError: the backbone has no ResNet-style ``res_layers`` nor a
            ``stages`` / ``layers`` list to take the last of.
    """
    backbone = _task_network(model).backbone
    return 'backbone.' + resolve_family(backbone).family.gradcam_layer(
        backbone)


def _preprocess(model: nn.Module, image: np.ndarray,
                input_size: Tuple[int, int]) -> torch.Tensor:
    """The model's normalized (1, C, H, W) input for an RGB image."""
    resized = np.array(Image.fromarray(image).resize(
        (input_size[1], input_size[0]), Image.BILINEAR))
    preprocessor = model.data_preprocessor
    channels = preprocessor.mean.shape[0] if getattr(
        preprocessor, 'mean', None) is not None else 3
    if channels == 1:
        resized = resized.astype(np.float32) @ np.array([0.299, 0.587, 0.114])
        resized = resized[..., None].round().astype(np.uint8)
    elif getattr(preprocessor, '_channel_conversion', False):
        # to_rgb=True: the preprocessor expects mmcv's BGR and flips it
        resized = resized[..., ::-1]
    tensor = torch.from_numpy(resized.copy()).permute(2, 0, 1)
    return preprocessor(dict(inputs=[tensor]), False)['inputs']


def grad_cam(model: nn.Module,
             image: np.ndarray,
             input_size: Tuple[int, int],
             target_layer: Optional[str] = None
             ) -> Tuple[np.ndarray, int, float]:
    """Grad-CAM of ``model``'s predicted class for one image.

    Args:
        model (nn.Module): An mmpretrain classifier or an
            ``astro_mm.AlternatingAlgorithm`` (run under its current P), in
            eval mode as :func:`load_classifier` returns it (in train mode
            the forward pass would update the batch-norm statistics).
        image (np.ndarray): RGB ``uint8`` (H, W, 3).
        input_size (tuple[int, int]): (H, W) the image is resized to.
        target_layer (str, optional): Module name inside the TNet; defaults
            to the backbone's last stage.

    Returns:
        tuple: the map (H, W) of the original image, in [0, 1]; the
        predicted class; its softmax probability.
    """
    name = target_layer or default_target_layer(model)
    try:
        layer = _task_network(model).get_submodule(name)
    except AttributeError as err:
        raise ValueError(f'target_layer {name!r} is not a module of '
                         f'{type(_task_network(model)).__name__}') from err
    inputs = _preprocess(model, image, input_size).requires_grad_(True)
    captured = {}

    def keep_output(module, args, output):
        # stages of some backbones return a tuple: explain its last tensor
        is_seq = isinstance(output, (tuple, list))
        captured['maps'] = output[-1] if is_seq else output

    handle = layer.register_forward_hook(keep_output)
    try:
        with torch.enable_grad():
            logits = model(inputs, mode='tensor')
            logits = logits[-1] if isinstance(logits, (tuple, list)) else logits
            label = int(logits[0].argmax())
            # autograd.grad, not backward(): no .grad left on the parameters
            (grads, ) = torch.autograd.grad(logits[0, label], captured['maps'])
    finally:
        handle.remove()
    maps = captured['maps'].detach()
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * maps).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=image.shape[:2], mode='bilinear',
                        align_corners=False)[0, 0]
    cam = cam / cam.max() if cam.max() > 0 else cam
    prob = float(logits[0].detach().softmax(0)[label])
    return cam.numpy(), label, prob


def gradcam_compare(models: Dict[str, Tuple[str, str]],
                    images: Sequence[str],
                    out: str,
                    input_size: Union[None, int, Tuple[int, int]] = None,
                    target_layer: Optional[str] = None) -> str:
    """Grid of Grad-CAM maps: rows = images, columns = original + one per model.

    Compare a plain and an astro backbone on the same images::

        gradcam_compare(
            {'ResNet-18': ('configs/resnet/resnet18-cifar_...py', 'plain.pth'),
             'AstroNet': ('configs/astronet/astronet_...py', 'astro.pth')},
            ['skimage:chelsea', 'skimage:coffee', 'cat.png'], 'gradcam.png')

    Each map is for the class the model predicts (named under the panel,
    from the checkpoint's ``dataset_meta`` when it has class names), over the
    image in its own resolution.

    Args:
        models (dict[str, tuple[str, str]]): Label -> (config, checkpoint) of
            a classifier of this repo (plain ``ImageClassifier`` or
            ``astro_mm.AlternatingAlgorithm``).
        images (Sequence[str]): Image files, or ``'skimage:<name>'``.
        out (str): The PNG to write.
        input_size (int | tuple[int, int], optional): The models' input
            (H, W); by default each model's from its config's pipeline.
        target_layer (str, optional): Module inside the TNet to explain;
            default the backbone's last stage.

    Returns:
        str: ``out``.
    """
    check_png_path(out)
    if not models:
        raise ValueError('models is empty: give label -> (config, checkpoint)')
    if not images:
        raise ValueError('images is empty: give at least one image')
    pictures = [load_image(spec) for spec in images]
    columns = {}
    for label, (config, checkpoint) in models.items():
        model = load_classifier(config, checkpoint)
        if input_size is None:
            size = input_size_of(model._config)
        else:
            size = (input_size, ) * 2 if isinstance(input_size, int) else input_size
        classes = (getattr(model, '_dataset_meta', None) or {}).get('classes')
        cells = []
        for picture in pictures:
            cam, pred, prob = grad_cam(model, picture, size, target_layer)
            name = classes[pred] if classes and pred < len(classes) else pred
            cells.append((cam, f'{name} ({100 * prob:.0f} %)'))
        columns[label] = cells

    num_cols = 1 + len(columns)
    aspect = float(np.mean([p.shape[0] / p.shape[1] for p in pictures]))
    fig = Figure(figsize=(2.3 * num_cols, (2.3 * aspect + 0.4) * len(pictures)))
    axes = fig.subplots(len(pictures), num_cols, squeeze=False)
    for row, picture in enumerate(pictures):
        axes[row, 0].imshow(picture)
        for col, (label, cells) in enumerate(columns.items(), start=1):
            cam, caption = cells[row]
            axes[row, col].imshow(picture)
            axes[row, col].imshow(cam, cmap='jet', alpha=0.5, vmin=0, vmax=1)
            axes[row, col].set_xlabel(caption, fontsize=8)
            if row == 0:
                axes[row, col].set_title(label, fontsize=9)
        if row == 0:
            axes[row, 0].set_title('image', fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return save_figure(fig, out)
