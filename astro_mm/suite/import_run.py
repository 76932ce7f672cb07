"""Bring a training run made outside the suite into it
(``tools/run_suite.py SUITE --import UNIT=WORK_DIR``).

A run trained elsewhere (``tools/dist_train.sh``, a SLURM job) is taken
as one unit's training when its config is the unit's: the config
``tools/train.py`` dumped into ``WORK_DIR`` is compared, key by key, with
the unit's config plus its ``cfg_options`` and seed. Keys that say where or
how the run ran, not what it trained, are left out of the comparison
(:data:`IGNORED`: work dir, launcher, resume, distributed backend, data
roots, ``auto_scale_lr``: the devices a run had are its own, and the lr it
trained with is recorded in the unit's ``launch``, flagged in the table
when its total batch is not the config's). A difference refuses the
import with the differing keys listed. An imported unit then goes on as any other: the
suite tests (and prunes) its last checkpoint and the table shows it.
"""
import glob
import os
import os.path as osp
import re
from typing import Dict, List, Tuple

from mmengine.config import Config

from .config import SuiteConfigError
from .launch import lr_value, plan_batch
from .runner import options_dict, write_json

# dotted keys (or their last part) that do not change what is trained
IGNORED = ('work_dir', 'launcher', 'resume', 'load_from', 'env_cfg',
           'auto_scale_lr', 'data_root', 'filename')


def flatten(node, prefix: str = '') -> Dict[str, object]:
    """A config as ``{dotted.key: value}`` (lists of dicts by index)."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, (list, tuple)) and any(
            isinstance(v, (dict, list, tuple)) for v in node):
        items = ((str(i), v) for i, v in enumerate(node))
    else:
        return {prefix: list(node) if isinstance(node, tuple) else node}
    flat = {}
    for key, value in items:
        flat.update(flatten(value, f'{prefix}.{key}' if prefix else key))
    return flat


def _ignored(key: str) -> bool:
    return any(key == name or key.startswith(name + '.') or
               key.endswith('.' + name) for name in IGNORED)


def config_differences(expected: dict, found: dict) -> List[str]:
    """``key: expected -> found`` for every key that differs."""
    expected, found = flatten(expected), flatten(found)
    lines = []
    for key in sorted(set(expected) | set(found)):
        if _ignored(key):
            continue
        missing = '<missing>'
        want, got = expected.get(key, missing), found.get(key, missing)
        if want != got:
            lines.append(f'{key}: {want!r} -> {got!r}')
    return lines


def world_size_of(work_dir: str) -> int:
    """The processes of a run, from its latest log's ``GPU number: N``
    (mmengine's environment report; 1 when no log says). Only the
    training's own logs count (``TIMESTAMP/TIMESTAMP.log``; a test's log in
    a subfolder is another process's)."""
    logs = sorted(
        log for log in glob.glob(osp.join(work_dir, '*', '*.log'))
        if re.fullmatch(r'\d{8}_\d{6}', osp.basename(osp.dirname(log))) and
        osp.splitext(osp.basename(log))[0] == osp.basename(osp.dirname(log)))
    for log in reversed(logs):
        with open(log, errors='replace') as f:
            found = re.search(r'GPU number: (\d+)', f.read())
        if found:
            return int(found.group(1))
    return 1


def parse_unit(spec: str) -> Tuple[str, str, int]:
    """``RUN[/seedS]=WORK_DIR`` -> (run, work dir, seed or -1)."""
    unit, sep, work_dir = spec.partition('=')
    if not sep or not unit or not work_dir:
        raise SuiteConfigError(f'--import {spec!r}: expected '
                               'UNIT=WORK_DIR (UNIT: RUN or RUN/seedS)')
    run, _, seed = unit.partition('/')
    if seed and not re.fullmatch(r'seed\d+', seed):
        raise SuiteConfigError(f'--import {spec!r}: the unit is RUN or '
                               f'RUN/seedS, got {unit!r}')
    return run, work_dir, int(seed[4:]) if seed else -1


def import_unit(runner, spec: str) -> Tuple[str, int]:
    """Take the training in WORK_DIR as the unit's (``spec``:
    ``RUN[/seedS]=WORK_DIR``; without a seed, the seed the run trained
    with). Writes the unit's ``train_done.json``; the suite's next run
    tests it and puts it in the table.

    Returns:
        tuple: The run's name and the seed.

    Raises:
        SuiteConfigError: No such cls run or seed, no dumped config or
            checkpoint in WORK_DIR, or a config that differs from the
            unit's (the message lists the differing keys).
    """
    name, work_dir, seed = parse_unit(spec)
    run = runner.runs.get(name)
    if run is None or run.task != 'cls':
        cls_runs = sorted(r.name for r in runner.cfg.runs if r.task == 'cls')
        raise SuiteConfigError(f'--import {spec!r}: {name!r} is not a cls '
                               f'run of the suite (cls runs: {cls_runs})')
    dumped = osp.join(work_dir, osp.basename(run.config))
    if not osp.isfile(dumped):
        raise SuiteConfigError(
            f'--import {spec!r}: {dumped} does not exist (tools/train.py '
            f'dumps the config it trained there; the run {name} trains '
            f'{run.config})')
    found = Config.fromfile(dumped)
    if seed < 0:
        seed = int(found.get('randomness', {}).get('seed', run.seeds[0]))
    if seed not in run.seeds:
        raise SuiteConfigError(f'--import {spec!r}: seed {seed} is not one '
                               f'of the run\'s seeds {list(run.seeds)}')
    options = runner.unit_options(run, seed)
    expected = Config.fromfile(osp.join(runner.root, run.config))
    expected.merge_from_dict(options_dict(options))
    differences = config_differences(expected.to_dict(), found.to_dict())
    if differences:
        raise SuiteConfigError(
            f'--import {spec!r}: {dumped} is not the config of unit {name} '
            f'seed {seed} ({run.config} with cfg_options {options}); '
            f'{len(differences)} keys differ (expected -> found):\n  ' +
            '\n  '.join(differences))
    last = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(last):
        raise SuiteConfigError(f'--import {spec!r}: {last} does not exist '
                               '(has the training finished?)')
    with open(last) as f:
        checkpoint = f.read().strip()
    if not osp.isabs(checkpoint):
        checkpoint = osp.join(osp.abspath(work_dir), osp.basename(checkpoint))
    if not osp.isfile(checkpoint):
        raise SuiteConfigError(f'--import {spec!r}: the checkpoint '
                               f'{checkpoint} named by {last} does not exist')
    unit_dir = runner.unit_dir(name, seed)
    if osp.isfile(runner.result_file(name, seed)):
        raise SuiteConfigError(
            f'--import {spec!r}: unit {name} seed {seed} has a result '
            f'already ({runner.result_file(name, seed)}); move {unit_dir} '
            'away to import another training')
    batch = plan_batch(found, run.config, world_size_of(work_dir),
                       launcher=str(found.get('launcher', 'none')))
    # the lr it trained with: scaled only where its auto_scale_lr was on
    scale = found.get('auto_scale_lr') or {}
    ratio = (batch.total_batch / scale.get('base_batch_size',
                                           batch.config_total_batch)
             if scale.get('enable') else 1.0)
    lrs = batch.config_lr if isinstance(batch.config_lr, dict) else \
        {'': batch.config_lr}
    batch.lr = lr_value({k: v * ratio for k, v in lrs.items()
                        if v is not None})
    launch = dict(batch.record(), imported_from=osp.abspath(work_dir))
    os.makedirs(unit_dir, exist_ok=True)
    write_json(dict(checkpoint=checkpoint, launch=launch),
               osp.join(unit_dir, 'train_done.json'))
    return name, seed
