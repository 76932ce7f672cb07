"""What a CondInst / BoxInst checkpoint's masks look like on the demo val set.

For the first ``--images`` val images it runs the detector and prints:
- the range of the mask logits of the 5 best-scored instances (before the
  sigmoid; saturated logits, of magnitude far past 10, give no gradient);
- for the 3 best detections, the mask's area and the share of it that lies
  inside the detection's own box.

Used in benchmarks/RESULTS.md to tell a mask head that has not learned
(the same mask for every detection, far outside its box) from one that is
learning. The last line is::

    instance_mask_probe: max_abs_logit=<x> mask_in_box=<f>

the largest absolute logit seen, and the mean share of mask area inside
the box over the printed detections.

Example::

    python benchmarks/instance_mask_probe.py \\
        configs/boxinst/boxinst_r18_fpn_adamw-masklr0.1-1200i_demo-coco.py \\
        work_dirs/benchmarks/ap_curve_boxinst_masklr_1200/boxinst/iter_1200.pth
"""
import argparse
import os.path as osp
import statistics

import torch
from mmengine.config import Config

import astro_mm  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def probe(config: str, checkpoint: str, images: int) -> tuple:
    from mmdet.apis import inference_detector, init_detector
    from mmdet.models.dense_heads.condinst_head import CondInstMaskHead

    logit_ranges = []
    predict = CondInstMaskHead.predict_by_feat

    def recording_predict(self, mask_preds, *args, **kwargs):
        for masks in mask_preds:
            logit_ranges.append((masks[:5].min().item(),
                                 masks[:5].max().item()))
        return predict(self, mask_preds, *args, **kwargs)

    cfg = Config.fromfile(config)
    # the checkpoint holds every weight; the backbone's pretraining is moot
    cfg.model.backbone.init_cfg = None
    model = init_detector(cfg, checkpoint, device='cpu')
    val_dir = osp.join(ROOT, cfg.val_dataloader.dataset.data_root,
                       cfg.val_dataloader.dataset.data_prefix.img)
    shares = []
    CondInstMaskHead.predict_by_feat = recording_predict
    try:
        for index in range(1, images + 1):
            path = osp.join(val_dir, f'val_{index:06d}.png')
            result = inference_detector(model, path).pred_instances
            low, high = logit_ranges[-1]
            print(f'{osp.basename(path)}: mask logits of the top 5 in '
                  f'[{low:.1f}, {high:.1f}]')
            for rank in range(min(3, len(result))):
                x1, y1, x2, y2 = result.bboxes[rank].round().int().tolist()
                mask = result.masks[rank]
                area = int(mask.sum())
                inside = int(mask[y1:y2, x1:x2].sum())
                share = inside / area if area else 0.0
                shares.append(share)
                print(f'  #{rank} score {result.scores[rank]:.2f} box '
                      f'[{x1}, {y1}, {x2}, {y2}] mask area {area}, '
                      f'{100 * share:.0f} % inside its box')
    finally:
        CondInstMaskHead.predict_by_feat = predict
    max_abs = max(max(abs(low), abs(high)) for low, high in logit_ranges)
    return max_abs, statistics.mean(shares) if shares else 0.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--images', type=int, default=3)
    args = parser.parse_args(argv)
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            parser.error(f'no such file {path}')
    torch.manual_seed(0)
    max_abs, share = probe(args.config, args.checkpoint, args.images)
    print(f'instance_mask_probe: max_abs_logit={max_abs:.1f} '
          f'mask_in_box={share:.2f}')


if __name__ == '__main__':
    main()
