"""Classification preprocessing of multi-view batches (mmpretrain MultiView).

mmpretrain's ``MultiView`` transform puts several augmented views of one
image into one sample (``inputs`` is a list of views). mmpretrain's
``SelfSupDataPreprocessor`` handles such batches but needs
``default_collate`` in every dataloader (its single-view branch takes a
pseudo-collated list of images for a list of views) and takes none of
``ClsDataPreprocessor``'s options (``num_classes``, ``to_onehot``, batch
augments), which the classification configs of this project set. This
preprocessor is ``ClsDataPreprocessor`` with one addition: a multi-view
batch is processed view by view, so a config that trains on two views and
validates on one needs no other change.
"""
from typing import List, Optional, Sequence

import torch
from mmpretrain.models import ClsDataPreprocessor

from astro_mm.registry import MODELS


def split_views(inputs) -> Optional[List]:
    """The per-view batches of a multi-view ``inputs``, else None.

    Single view: a stacked (N, C, H, W) tensor (``default_collate``) or a
    list of (C, H, W) images (``pseudo_collate``). Multi-view: a list with
    one entry per view, each a stacked batch (``default_collate``) or a
    list of images (``pseudo_collate`` transposes the per-sample lists).
    """
    if isinstance(inputs, torch.Tensor) or not isinstance(
            inputs, Sequence) or len(inputs) == 0:
        return None
    first = inputs[0]
    if isinstance(first, (list, tuple)):
        return list(inputs)
    if isinstance(first, torch.Tensor) and first.dim() == 4:
        return list(inputs)
    return None


@MODELS.register_module()
class MultiViewClsDataPreprocessor(ClsDataPreprocessor):
    """``ClsDataPreprocessor`` that also takes batches of several views.

    A single-view batch goes through ``ClsDataPreprocessor`` unchanged (so
    validation and test are exactly a plain classifier's). A multi-view
    batch (``MultiView`` in the pipeline) is normalized, padded and stacked
    view by view and returned as ``inputs=[view_1, ..., view_V]``, each
    ``(N, C, H, W)``, in the order of the samples; the labels are set once.

    Args: as :class:`mmpretrain.models.ClsDataPreprocessor`.

    Raises:
        ValueError: batch augments (Mixup, CutMix) are configured and a
            multi-view batch arrives in training: they would mix the views'
            labels differently, and a supervised contrastive loss needs the
            hard labels shared by the views.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        views = split_views(data['inputs'])
        if views is None:
            return super().forward(data, training)
        if training and self.batch_augments is not None:
            raise ValueError(
                'MultiViewClsDataPreprocessor: batch_augments (Mixup / '
                'CutMix) are not supported with multi-view inputs; remove '
                'train_cfg.augments or the MultiView transform')
        first = super().forward(
            dict(inputs=views[0], data_samples=data.get('data_samples')),
            training)
        others = [
            super(MultiViewClsDataPreprocessor, self).forward(
                dict(inputs=view), training)['inputs'] for view in views[1:]
        ]
        return dict(
            inputs=[first['inputs'], *others],
            data_samples=first['data_samples'])
