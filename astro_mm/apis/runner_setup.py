"""Config loading and runner building shared by tools/train.py and test.py.

The command lines are mmdet's / mmpretrain's own (``--work-dir``,
``--cfg-options``, ``--launcher``), so an mmdet user finds nothing new.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from astro_mm.pruning import sync_neck_widths


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the options every astro_mm tool shares with mmdet's tools."""
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs, e.g. '
        'train_cfg.max_iters=10 "model.backbone.init_cfg.checkpoint=x.pth"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher (pytorch = torchrun, see tools/dist_train.sh)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Read ``args.config`` and apply the command-line overrides.

    Raises:
        FileNotFoundError: The config file does not exist.
    """
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config} does not exist')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # a coupled-pruned backbone's stage widths go to the neck (or head)
    # from its checkpoint's meta: no hand-written in_channels
    sync_neck_widths(cfg.get('model', {}), cfg.get('default_scope'))
    if args.launcher != 'none':
        _use_gloo_without_gpu(cfg)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def _use_gloo_without_gpu(cfg: Config) -> None:
    """Distributed runs on CPU need gloo; the configs' default is nccl."""
    import torch
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if not torch.cuda.is_available() and dist_cfg.get('backend') != 'gloo':
        print(f"no GPU visible: env_cfg.dist_cfg.backend "
              f"{dist_cfg.get('backend', 'nccl')!r} -> 'gloo'")
        dist_cfg['backend'] = 'gloo'


def release_dist() -> None:
    """End a distributed run cleanly: every rank done, process group gone.

    mmengine never destroys the process group. With gloo, work objects its
    C++ threads still hold are then freed during interpreter finalization,
    and torch aborts the process ("terminate called without an active
    exception", exit -6) after a successful run; torchrun reports the whole
    job as failed (pytorch/pytorch#179291). Call it once the runner, whose
    DDP wrapper holds the group, has been released.
    """
    import gc

    import torch.distributed as torch_dist
    if torch_dist.is_available() and torch_dist.is_initialized():
        gc.collect()
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def build_runner(cfg: Config) -> Runner:
    """Build the runner the config asks for (``runner_type``) or mmengine's."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def use_validation_split(cfg, config_name: str) -> None:
    """Point the test loop at the config's validation data.

    Raises:
        KeyError: The config has no val_dataloader or val_evaluator.
    """
    missing = [key for key in ('val_dataloader', 'val_evaluator')
               if not cfg.get(key)]
    if missing:
        raise KeyError(f'--split val: {config_name} has no '
                       f'{" or ".join(missing)} to evaluate on')
    cfg.test_dataloader = cfg.val_dataloader
    cfg.test_evaluator = cfg.val_evaluator
