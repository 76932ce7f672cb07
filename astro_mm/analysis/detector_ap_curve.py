"""The AP curve of a demo detector: the overrides of its runs and the
curve read back from its log.

``benchmarks/detector_ap_curve.py`` trains each demo detector for a number
of iterations, evaluating every so often: the step decay moved to 80 % of
the run (:func:`step_decay_options`), optionally on the first training
images only (:func:`overfit_options`), and the AP of every evaluation read
back in order (:func:`read_curve`).
"""
import glob
import json
import os
import os.path as osp

from mmengine.config import Config


def read_curve(work_dir: str, metric: str, eval_every: int) -> dict:
    """Iteration -> AP (in %) of every evaluation of the latest run in
    ``work_dir``.

    mmengine logs an iteration-based loop's validation at step 0 (the
    epoch), so the evaluations are numbered by their order instead.
    """
    runs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    if not runs:
        raise FileNotFoundError(f'no vis_data/scalars.json under {work_dir}')
    key = f'coco/{metric}_mAP'
    curve = {}
    with open(runs[-1]) as f:
        for line in f:
            record = json.loads(line)
            if key in record:
                curve[eval_every * (len(curve) + 1)] = round(
                    100 * record[key], 1)
    return curve


def step_decay_options(config: str, iters: int) -> list:
    """Overrides that put the config's step decay at 80 % of ``iters``.

    The SGD demo configs fix it for their 200 iterations (``MultiStepLR``),
    so a run of another length moves it; the AdamW ones already follow
    ``max_iters`` (``astro_mm.ProportionalMultiStepLR``) and need nothing.
    """
    decay = Config.fromfile(config).param_scheduler[1]
    if decay['type'].split('.')[-1] == 'ProportionalMultiStepLR':
        return []
    return [f'param_scheduler.1.end={iters}',
            f'param_scheduler.1.milestones=[{int(iters * 0.8)}]']


def overfit_options(config: str, work_dir: str, num_images: int) -> list:
    """Overrides that train and evaluate on the first ``num_images``
    training images (by image id).

    A pipeline check: a detector that cannot fit a handful of images it is
    evaluated on has a bug (data, matching, loss), not a short schedule.
    The subset's COCO file is written into ``work_dir``.
    """
    dataset = Config.fromfile(config).train_dataloader.dataset
    source = osp.join(dataset.data_root, dataset.ann_file)
    with open(source) as f:
        coco = json.load(f)
    images = sorted(coco['images'], key=lambda image: image['id'])
    if not 1 <= num_images <= len(images):
        raise ValueError(f'--overfit {num_images}: {source} has '
                         f'{len(images)} training images; give 1 to '
                         f'{len(images)}')
    images = images[:num_images]
    kept = {image['id'] for image in images}
    subset = dict(coco, images=images, annotations=[
        a for a in coco['annotations'] if a['image_id'] in kept])
    os.makedirs(work_dir, exist_ok=True)
    path = osp.abspath(osp.join(work_dir,
                                f'instances_train_first{num_images}.json'))
    with open(path, 'w') as f:
        json.dump(subset, f)
    return [f'train_dataloader.dataset.ann_file={path}',
            f'val_dataloader.dataset.ann_file={path}',
            'val_dataloader.dataset.data_prefix.img='
            f'{dataset.data_prefix.img}',
            f'val_evaluator.ann_file={path}']
