"""Publish a checkpoint: only what a deployed network needs, hash in the name.

As mmdet's ``tools/model_converters/publish_model.py``: keeps ``state_dict``
and ``meta`` and writes ``OUT_FILE`` as ``{stem}-{sha256[:8]}.pth``. astro_mm
also removes an astro checkpoint's modulator and history state (its task
network's tensors keep mmpretrain's / mmdet's keys) and the run's history
in ``meta``, keeping the pruned widths that rebuild the network (see
:mod:`astro_mm.deploy.publish`). With ``--config`` (the pruned config,
OUT.py), the widths it names go into ``meta`` where missing and the
published weights must load strictly into its network.

Example::

    python tools/model_converters/publish_model.py \\
        work_dirs/r20-pruned-ft/epoch_5.pth work_dirs/publish/r20-pruned.pth \\
        --config work_dirs/pruned/r20.py
    # -> work_dirs/publish/r20-pruned-1a2b3c4d.pth
"""
import argparse

from mmengine.config import DictAction

from astro_mm.compat import apply_patches
from astro_mm.deploy import publish_checkpoint
from astro_mm.deploy.publish import summarize_removed

# astro_mm's tools run with its compatibility layer (astro_mm.compat)
apply_patches()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Process a checkpoint to be published')
    parser.add_argument('in_file', help='input checkpoint filename')
    parser.add_argument('out_file', help='output checkpoint filename (the '
                        'hash goes before .pth)')
    parser.add_argument('--config', help='the config the checkpoint is used '
                        'with: its widths go into meta, and the published '
                        'weights are checked to load into its network')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of --config, as key=value pairs')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    published = publish_checkpoint(args.in_file, args.out_file, args.config,
                                   args.cfg_options)
    print(f'removed: top-level {summarize_removed(published.removed_keys)}; '
          f'state_dict {summarize_removed(published.removed_state)}; '
          f'meta {summarize_removed(published.removed_meta)}')
    if published.meta_from_config:
        print(f'meta from {args.config}: '
              f'{", ".join(published.meta_from_config)}')
    print(f'The published model is saved at {published.path} '
          f'({published.num_tensors} tensors, sha256 {published.sha256})')
    return published


if __name__ == '__main__':
    main()
