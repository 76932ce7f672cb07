"""The swap: a detector's backbone holds the classification checkpoint."""
import pytest
import torch
from mmengine.config import Config

from astro_mm.compat import load_checkpoint_file
from helpers import assert_backbone_holds

CONFIGS = [
    'configs/faster_rcnn/faster-rcnn_r18_fpn_200i_demo-coco.py',
    'configs/detr/detr_r18_200i_demo-coco.py',
    'configs/condinst/condinst_r18_fpn_200i_demo-coco.py',
    'configs/boxinst/boxinst_r18_fpn_200i_demo-coco.py',
]


@pytest.mark.parametrize('config', CONFIGS)
def test_backbone_weights_equal_classification_checkpoint(
        config, cls_checkpoint):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.registry import DefaultScope
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg.checkpoint = cls_checkpoint
    with DefaultScope.overwrite_default_scope('mmdet'):
        detector = MODELS.build(cfg.model)
    before = {k: v.clone() for k, v in detector.backbone.state_dict().items()}
    detector.init_weights()

    source = load_checkpoint_file(cls_checkpoint)['state_dict']
    backbone = detector.backbone.state_dict()
    assert_backbone_holds(backbone, source)  # every backbone key swapped
    # and the swap really changed the randomly initialised weights
    assert not torch.equal(before['layer1.0.conv1.weight'],
                           backbone['layer1.0.conv1.weight'])
