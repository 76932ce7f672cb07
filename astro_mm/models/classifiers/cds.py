"""CDS: Contrastive Deep Supervision (Zhang et al., ECCV 2022), a baseline
of MA-Net Tab. 1-4.

After every backbone stage a projection head
(:class:`~astro_mm.models.heads.CDSProjectionHead`) embeds the stage's
features; a supervised contrastive loss (:class:`~astro_mm.models.losses.
SupConLoss`, tau = 0.07, weight 0.1 per stage) pulls together the two
augmented views of each image and the images of its class. The usual
cross-entropy trains the final head. The projection heads are used in
training only: prediction is a plain ``ImageClassifier``'s and the
backbone's checkpoint keys are a plain one's, so the backbone swaps into
mmdet exactly as a plain one does.
"""
import copy
import inspect
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmpretrain.models import ImageClassifier
from torch import nn

from astro_mm.registry import MODELS

# Side of the dummy image that reads the stages' widths and strides off
# the backbone: a ResNet's last stage is 1x1 at 32 px (ImageNet stem, /32).
_PROBE_SIZE = 32


def _first_conv_in_channels(module: nn.Module) -> int:
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            return layer.in_channels
    raise ValueError(f'CDSImageClassifier: backbone {type(module).__name__} '
                     'has no Conv2d; CDS projection heads need conv stages')


def _num_stages_of(backbone_cfg: dict) -> int:
    """``num_stages`` of a backbone config, or its class's default."""
    if 'num_stages' in backbone_cfg:
        return backbone_cfg['num_stages']
    with MMENGINE_MODELS.switch_scope_and_registry(None) as registry:
        backbone_cls = registry.get(backbone_cfg['type'])
    if backbone_cls is None:
        raise KeyError(f'CDSImageClassifier: backbone type '
                       f'{backbone_cfg["type"]!r} is not registered')
    # Subclasses such as ResNet_CIFAR pass num_stages on through **kwargs.
    for cls in backbone_cls.__mro__:
        param = inspect.signature(cls.__init__).parameters.get('num_stages')
        if param is not None and param.default is not inspect.Parameter.empty:
            return param.default
    raise ValueError(
        f'CDSImageClassifier: cannot tell how many stages '
        f'{backbone_cfg["type"]} has; set backbone.num_stages')


@MODELS.register_module()
class CDSImageClassifier(ImageClassifier):
    """An mmpretrain ``ImageClassifier`` trained with contrastive deep
    supervision.

    The backbone returns every stage (a config's ``out_indices`` is set to
    all ``num_stages`` stages, overriding the plain config's ``(3, )``; a
    built module must already return them all); the neck and head see the
    last stage only, as in the plain classifier. Each projection head's
    widths and strides are read off the backbone by one forward pass of a
    dummy image at construction.

    Training takes the two (or more) views of mmpretrain's ``MultiView``
    transform, as batched by
    :class:`~astro_mm.models.data_preprocessors.MultiViewClsDataPreprocessor`
    (the default ``data_preprocessor`` type here). All views go through the
    backbone as one batch; the losses are

    * ``loss_cls``: the head's cross-entropy over every view (each view is
      an augmented sample with the image's label; the head's ``loss``,
      renamed so that mmengine's logged ``loss`` is the total);
    * ``loss_cds_s1`` ... ``loss_cds_sS``: per stage,
      ``loss_weight * SupCon`` over the views' embeddings; positives are the
      other views of the image and all views of the same class.

    Args:
        backbone (dict | nn.Module): as ``ImageClassifier``; its
            ``out_indices`` is overridden (see above).
        neck, head, pretrained, train_cfg, init_cfg: as
            :class:`mmpretrain.models.ImageClassifier`.
        projection_head (dict): Config of the per-stage heads, without
            ``channels`` / ``strides`` (filled in). Default
            ``astro_mm.CDSProjectionHead`` with 128-d embeddings.
        contrastive_loss (dict): Config of the per-stage loss. Default
            ``astro_mm.SupConLoss`` with tau = 0.07, weight 0.1.
        data_preprocessor (dict, optional): Default type
            ``astro_mm.MultiViewClsDataPreprocessor``.
    """

    def __init__(self,
                 backbone: Union[dict, nn.Module],
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 projection_head: dict = dict(
                     type='astro_mm.CDSProjectionHead', embed_dims=128),
                 contrastive_loss: dict = dict(
                     type='astro_mm.SupConLoss',
                     temperature=0.07,
                     loss_weight=0.1),
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if isinstance(backbone, dict):
            backbone = copy.deepcopy(backbone)
            backbone['out_indices'] = tuple(range(_num_stages_of(backbone)))
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type',
                                     'astro_mm.MultiViewClsDataPreprocessor')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.cds_heads = nn.ModuleList([
            MODELS.build(dict(projection_head, channels=channels,
                              strides=strides))
            for channels, strides in self._head_layouts()
        ])
        self.contrastive_loss = MODELS.build(contrastive_loss)

    @torch.no_grad()
    def _head_layouts(self) -> List[Tuple[List[int], List[int]]]:
        """(channels, strides) of each stage's head.

        The head of stage i retraces stages i+1 ... S (their widths and
        down-sampling) with one depthwise-separable conv each, ending at the
        last stage's width and resolution; the last stage's head is one
        stride-1 conv.
        """
        was_training = self.backbone.training
        self.backbone.eval()  # a 1-image batch; leave BN statistics alone
        image = torch.zeros(1, _first_conv_in_channels(self.backbone),
                            _PROBE_SIZE, _PROBE_SIZE)
        feats = self.backbone(image)
        self.backbone.train(was_training)
        if not isinstance(feats, (tuple, list)) or len(feats) < 2 or any(
                not isinstance(f, torch.Tensor) or f.dim() != 4
                for f in feats):
            raise ValueError(
                'CDSImageClassifier: the backbone must return a tuple of '
                '(N, C, H, W) features, one per stage, when out_indices '
                'names every stage')
        widths = [f.size(1) for f in feats]
        sizes = [f.size(2) for f in feats]
        layouts = []
        for stage in range(len(feats) - 1):
            strides = [
                max(1, round(sizes[j] / sizes[j + 1]))
                for j in range(stage, len(feats) - 1)
            ]
            layouts.append((widths[stage:], strides))
        layouts.append(([widths[-1], widths[-1]], [1]))
        return layouts

    @property
    def num_stages(self) -> int:
        return len(self.cds_heads)

    def extract_feat(self, inputs: torch.Tensor, stage: str = 'neck'):
        """As ``ImageClassifier.extract_feat``; the neck and head see the
        last stage only, so ``'neck'`` / ``'pre_logits'`` equal a plain
        classifier's. ``'backbone'`` returns every stage."""
        if stage not in ('backbone', 'neck', 'pre_logits'):
            raise ValueError(f'Invalid output stage "{stage}", choose from '
                             '"backbone", "neck" and "pre_logits"')
        feats = self.backbone(inputs)
        if stage == 'backbone':
            return feats
        return self._neck_and_pre_logits(feats, stage)

    def _neck_and_pre_logits(self, feats: Sequence[torch.Tensor],
                             stage: str = 'neck'):
        x = tuple(feats[-1:])
        if self.with_neck:
            x = self.neck(x)
        if stage == 'neck':
            return x
        return self.head.pre_logits(x)

    def loss(self, inputs: Union[torch.Tensor, List[torch.Tensor]],
             data_samples: list) -> dict:
        """Cross-entropy on every view plus one SupCon loss per stage.

        Args:
            inputs (list[Tensor]): The views, each (N, C, H, W), sample i of
                every view from the same image.
            data_samples (list[DataSample]): N samples with ``gt_label``.

        Raises:
            ValueError: ``inputs`` is not a list of >= 2 views (the train
                pipeline lacks ``MultiView``) or a sample has soft labels.
        """
        if isinstance(inputs, torch.Tensor) or len(inputs) < 2:
            raise ValueError(
                'CDSImageClassifier needs >= 2 augmented views of each image '
                'in training: wrap the train pipeline\'s transforms in '
                "dict(type='MultiView', num_views=2, transforms=[...]) "
                "before PackInputs")
        if any('gt_label' not in s or 'gt_score' in s for s in data_samples):
            raise ValueError(
                'CDSImageClassifier: SupCon needs hard labels (gt_label) '
                'and no soft ones (gt_score); remove the batch augments '
                '(Mixup / CutMix) from the training config')
        num_views = len(inputs)
        feats = self.backbone(torch.cat(list(inputs)))
        labels = torch.cat([s.gt_label for s in data_samples]).to(
            feats[-1].device).repeat(num_views)

        head_losses = self.head.loss(
            self._neck_and_pre_logits(feats), list(data_samples) * num_views)
        # mmengine logs the sum of all losses as 'loss': the head's own
        # 'loss' would hide it, so the cross-entropy is named 'loss_cls'.
        losses = {('loss_cls' if name == 'loss' else name): value
                  for name, value in head_losses.items()}
        for index, (head, feat) in enumerate(zip(self.cds_heads, feats), 1):
            losses[f'loss_cds_s{index}'] = self.contrastive_loss(
                head(feat), labels)
        return losses
