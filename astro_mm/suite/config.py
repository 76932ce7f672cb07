"""Suite configs: the runs of one table, and the paper's numbers for them.

A suite config is an mmengine config file (``configs/suites/*.py``)::

    suite = dict(
        name='demo',
        title='Demo: plain vs MA-Net ResNet-18, pruned, in 4 detectors',
        seeds=[0],                 # default seeds of every run
        prepare=['demo_data'],     # 'demo_data' and / or 'fashion_mnist'
        input_size=64,             # image size for FLOPs / latency
        runs_root=None,            # where run folders go (default: the
                                   # suite's work dir); suites that share
                                   # runs (Tab. 2-4) name one folder
        finetune=None,             # fine-tune after pruning:
                                   # dict(epochs=N or share=0.2 of the
                                   # run's training epochs, lr=0.01)
        summary=None,              # the last line's values
                                   # (astro_mm.suite.summary)
        workers=1,                 # units run at once (each tool then
                                   # gets cores // workers threads)
        order='cost',              # the order units start in with
                                   # workers > 1: 'cost' (the longest
                                   # first, so the workers end together)
                                   # or 'listed' (runs as listed, seeds in
                                   # order: a study that needs several
                                   # sessions finishes its first runs
                                   # first)
        archive=None,              # a repo folder that keeps each
                                   # finished unit's results (not its
                                   # weights), so that a study resumes in
                                   # a fresh clone (SuiteRunner)
        cfg_options=[],            # key=value options of every unit's
                                   # tools, before the run's own (a study
                                   # that fixes its precision on every
                                   # machine: 'optim_wrapper.dtype=float32')
        validation=False,          # also evaluate every trained and
                                   # pruned network on its config's
                                   # validation split (tools/test.py
                                   # --split val): what settings are
                                   # chosen on, never the test set
        launcher='none',           # how trainings run: 'none',
                                   # 'pytorch' (torchrun), 'slurm' (srun);
        gpus=None, nodes=1,        # with GPUs per node, nodes, and for
        partition=None,            # SLURM its partition, more srun
        slurm_args='',             # options and --cpus-per-task
        cpus_per_task=5)           # (astro_mm.suite.launch)
    runs = [
        dict(name='plain', task='cls', method='plain', label='ResNet-18',
             config='configs/resnet/resnet18_1xb64-3e_demo-cifar.py',
             paper=dict(top1=94.96, params_M=11.17)),
        dict(name='manet', task='cls', method='manet', label='ResNet-18',
             config='configs/manet/manet_resnet18_1xb64-3e_demo-cifar.py',
             prune=dict(delta=dict(threshold=1e-3),
                        b60=dict(param_budget=0.6))),
        dict(name='faster-rcnn_manet-b60', task='det', method='manet',
             label='Faster R-CNN', metric='bbox', backbone='manet:b60',
             config='configs/faster_rcnn/faster-rcnn_r18-manet_fpn_200i_demo-coco.py',
             cfg_options=['train_cfg.max_iters=100'],
             paper=dict(AP=39.8)),
    ]

Run keys:
    name (str): Unique; the run's folder under the suite's work dir.
    task (str): ``'cls'`` (train, test top-1, optionally prune) or ``'det'``
        (a detector with a backbone of an earlier ``cls`` run swapped in).
    config (str): The config ``tools/train.py`` trains.
    method (str): ``plain``, ``cds``, ``astronet``, ``manet``, or a control
        or baseline trained its own way: ``gates`` (the budget-aware mode
        with a free logit per unit), ``slimming`` (L1 on the BN scales),
        ``group_sparsity`` (DepGraph's group regularization),
        ``prune_early`` (a standard pruner applied during training) (the
        table's grouping and the figures' colours).
    label (str): What the table's model column says.
    seeds (list[int], optional): Overrides the suite's seeds.
    cfg_options (list[str], optional): ``key=value`` overrides, as on the
        command line of the tools (training, testing and pruning).
    prune (dict, optional, cls): Tag -> ``dict(threshold=d)``,
        ``dict(budget=b, measure='params' | 'flops')`` (the share of the
        backbone's parameters or MACs to keep; ``param_budget=b`` is
        ``budget=b, measure='params'``), or ``dict(method='early')`` (the
        channels a prune-early training removed), optionally with
        ``rank`` (a baseline's ranking rule, ``'group'`` or ``'cost'``),
        ``paper``,
        ``coupled=True`` (tools/prune.py --coupled: the residual stream's
        channels are pruned too, and the detectors' necks take the stage
        widths from the checkpoint), a baseline ``method`` (tools/prune.py
        --method; on an astro run it prunes the trained network with P
        folded in: the control that separates P's ranking from the
        modulated training), and ``finetune=False`` to
        leave this tag out of the suite's fine-tune (the papers' delta
        prune: their pruned network is not fine-tuned); each
        gives a pruned row (tools/prune.py: pruned, batch norms
        recalibrated, then fine-tuned when the suite has ``finetune``; the
        row shows top-1 before and after the fine-tune).
    finetune_unpruned (bool, optional, cls): Also give the unpruned
        network the suite's fine-tune (the plain reference of a pruning
        table: every row then has the same total schedule).
    archive_weights (bool, optional, cls): The suite's ``archive`` also
        keeps the unit's trained weights (``weights.pth``: ``state_dict``
        and ``meta``, no optimizer), so that a prune tag added later, or a
        unit cut short between its tags, goes on in a fresh clone without
        training again. For small networks whose units many tags share
        (a ResNet-20 is 1.1 MB).
    backbone (str, det): ``RUN`` (the cls run's checkpoint) or ``RUN:TAG``
        (its pruned export ``TAG``). Seed s of a det run takes seed s of
        the backbone run, or its first seed when it has no seed s.
    metric (str, det): ``'bbox'`` or ``'segm'``: the table's AP.
    paper (dict, optional): The paper's numbers for the row (``top1``,
        ``params_M``, ``AP``, ...), printed beside the measured ones.
"""
import difflib
import os.path as osp
from typing import Dict, List

from mmengine.config import Config

from .launch import LAUNCH_KEYS, LaunchError, LaunchSettings
from .summary import check_summary

TASKS = ('cls', 'det')
METHODS = ('plain', 'cds', 'astronet', 'manet', 'gates', 'slimming',
           'group_sparsity', 'prune_early')
PREPARE_STEPS = ('demo_data', 'fashion_mnist')
SUITE_KEYS = {
    'name', 'title', 'seeds', 'prepare', 'input_size', 'runs_root', 'finetune',
    'summary', 'workers', 'archive', 'validation', 'order', 'cfg_options',
    *LAUNCH_KEYS
}
ORDERS = ('cost', 'listed')
FINETUNE_KEYS = {'epochs', 'share', 'lr'}
PRUNE_KEYS = {
    'threshold', 'param_budget', 'budget', 'measure', 'rank', 'method',
    'paper', 'coupled', 'finetune'
}
MEASURES = ('params', 'flops')
RANKS = ('group', 'cost')
RUN_KEYS = {
    'name', 'task', 'config', 'method', 'label', 'seeds', 'cfg_options',
    'prune', 'backbone', 'metric', 'paper', 'finetune_unpruned',
    'archive_weights'
}
# Top-level names of a suite config that are suite keys written outside
# ``suite=dict(...)`` (other top-level names are the file's helpers).
MISPLACED_SUITE_KEYS = SUITE_KEYS - {'name'} | {'seed'}


class SuiteConfigError(ValueError):
    """A suite config that cannot run; the message names the file and key."""


def _fail(path: str, where: str, message: str):
    raise SuiteConfigError(f'{path}: {where}: {message}')


def _check_keys(path: str, where: str, given, allowed) -> None:
    """Fail on keys of ``given`` not in ``allowed``, suggesting near ones."""
    unknown = sorted(set(given) - set(allowed))
    if not unknown:
        return
    hints = [
        f'{key!r} -> {close[0]!r}' for key in unknown
        for close in [difflib.get_close_matches(key, allowed, n=1)] if close
    ]
    hint = f' (did you mean {", ".join(hints)}?)' if hints else ''
    _fail(path, where, f'unknown keys {unknown}{hint}; allowed: '
          f'{sorted(allowed)}')


def _check_prune_spec(path: str, where: str, spec) -> None:
    """Check one prune tag and normalize ``param_budget`` to ``budget``
    with ``measure='params'``."""
    _check_keys(path, where, spec, PRUNE_KEYS)
    if 'param_budget' in spec:
        if 'budget' in spec or spec.get('measure', 'params') != 'params':
            _fail(path, where, 'param_budget is a budget in parameters: give '
                  'it alone, or budget= with measure=')
        spec.budget = spec.pop('param_budget')
        spec.measure = 'params'
    chosen = [key for key in ('threshold', 'budget') if key in spec]
    if spec.get('method') == 'early':
        if chosen:
            _fail(path, where, "method='early' prunes the channels its "
                  f'training removed; it takes no {chosen[0]}')
    elif len(chosen) != 1:
        _fail(path, where, 'give exactly one of threshold and budget (or '
              "method='early')")
    if 'budget' in spec:
        spec.setdefault('measure', 'params')
        if spec.measure not in MEASURES:
            _fail(path, where, f'measure must be one of {MEASURES}, got '
                  f'{spec.measure!r}')
    elif 'measure' in spec:
        _fail(path, where, 'measure is the measure of a budget; give budget')
    if 'rank' in spec and spec.rank not in RANKS:
        _fail(path, where, f'rank must be one of {RANKS}, got {spec.rank!r}')


def load_suite(path: str, root: str = '.') -> Config:
    """Read and check a suite config.

    Args:
        path (str): The suite config file.
        root (str): The folder run configs are relative to (the repo root).

    Returns:
        Config: with ``suite`` (defaults filled in) and ``runs``.

    Raises:
        SuiteConfigError: A missing or unknown key (in ``suite`` or a
            run; a suite key at the top level), a duplicate run name, a
            config file that does not exist, a det run whose backbone names
            no earlier cls run or prune tag.
    """
    cfg = _read_suite_file(path)
    suite = cfg.suite
    _check_keys(path, 'suite', suite, SUITE_KEYS)
    if 'name' not in suite:
        _fail(path, 'suite.name', 'missing')
    _fill_suite_defaults(suite)
    _check_suite_values(path, suite)
    if not cfg.runs:
        _fail(path, 'runs', 'empty')
    # cls run name -> its prune tags: what a later det run may take
    cls_runs: Dict[str, List[str]] = {}
    for i, run in enumerate(cfg.runs):
        where = f'runs[{i}]' + (f' ({run["name"]})' if 'name' in run else '')
        _check_run(path, where, run, cfg.runs[:i], cls_runs, root)
        run.setdefault('label', run.name)
        run.setdefault('seeds', list(suite.seeds))
        run.setdefault('cfg_options', [])
        run.setdefault('paper', {})
        if run.task == 'cls':
            _check_cls_run(path, where, run)
            cls_runs[run.name] = list(run.prune)
        else:
            _check_det_run(path, where, run, cls_runs)
    if suite.summary is not None:
        problem = check_summary(suite.summary, [r.name for r in cfg.runs])
        if problem:
            _fail(path, 'suite.summary', problem)
    return cfg


def _read_suite_file(path: str) -> Config:
    """The suite file, with ``suite`` and ``runs`` and no suite key at its
    top level."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'suite config {path} does not exist')
    cfg = Config.fromfile(path)
    for key in ('suite', 'runs'):
        if key not in cfg:
            _fail(path, key, 'missing (a suite config defines suite and runs)')
    misplaced = sorted(MISPLACED_SUITE_KEYS & set(cfg.keys()))
    if misplaced:
        _fail(path, ', '.join(misplaced),
              'a suite setting at the top level of the file is ignored; '
              f'put it inside suite=dict(...) (suite keys: '
              f'{sorted(SUITE_KEYS)})')
    return cfg


def _fill_suite_defaults(suite) -> None:
    suite.setdefault('title', suite.name)
    suite.setdefault('seeds', [0])
    suite.setdefault('prepare', [])
    suite.setdefault('input_size', 224)
    suite.setdefault('runs_root', None)
    suite.setdefault('finetune', None)
    suite.setdefault('summary', None)
    suite.setdefault('workers', 1)
    suite.setdefault('archive', None)
    suite.setdefault('validation', False)
    suite.setdefault('order', 'cost')
    suite.setdefault('cfg_options', [])


def _check_suite_values(path: str, suite) -> None:
    """The values of ``suite`` (its keys checked, its defaults filled)."""
    if not isinstance(suite.cfg_options, (list, tuple)) or not all(
            isinstance(o, str) and '=' in o for o in suite.cfg_options):
        _fail(path, 'suite.cfg_options', 'must be a list of key=value '
              f'strings, got {suite.cfg_options!r}')
    if suite.order not in ORDERS:
        _fail(path, 'suite.order', f'expected one of {ORDERS}, got '
              f'{suite.order!r}')
    if suite.archive is not None and (not isinstance(suite.archive, str) or
                                      osp.isabs(suite.archive)):
        _fail(path, 'suite.archive', 'must be a folder relative to the repo '
              f'root (it is committed with the results), got '
              f'{suite.archive!r}')
    if not isinstance(suite.workers, int) or suite.workers < 1:
        _fail(path, 'suite.workers', f'must be an integer >= 1, got '
              f'{suite.workers!r}')
    try:
        LaunchSettings.from_suite(suite)
    except (LaunchError, TypeError) as error:
        _fail(path, 'suite', f'launch keys: {error}')
    if suite.finetune is not None:
        _check_keys(path, 'suite.finetune', suite.finetune, FINETUNE_KEYS)
        if ('epochs' in suite.finetune) == ('share' in suite.finetune):
            _fail(path, 'suite.finetune', 'give exactly one of epochs and '
                  'share (of the run\'s training epochs)')
    for step in suite.prepare:
        if step not in PREPARE_STEPS:
            _fail(path, 'suite.prepare',
                  f'unknown step {step!r}, expected one of {PREPARE_STEPS}')


def _check_run(path: str, where: str, run, earlier_runs,
               cls_runs: Dict[str, List[str]], root: str) -> None:
    """What every run needs: its keys, task, method, a new name and an
    existing config."""
    for key in ('name', 'task', 'config', 'method'):
        if key not in run:
            _fail(path, where, f'missing key {key!r}')
    _check_keys(path, where, run, RUN_KEYS)
    if run.task not in TASKS:
        _fail(path, where, f'task must be one of {TASKS}, got {run.task!r}')
    if run.method not in METHODS:
        _fail(path, where,
              f'method must be one of {METHODS}, got {run.method!r}')
    if run.name in cls_runs or any(r.name == run.name for r in earlier_runs):
        _fail(path, where, f'duplicate run name {run.name!r}')
    if not osp.isfile(osp.join(root, run.config)):
        _fail(path, where, f'config {run.config} does not exist')


def _check_cls_run(path: str, where: str, run) -> None:
    """A cls run's defaults and its prune tags."""
    run.setdefault('prune', {})
    run.setdefault('finetune_unpruned', False)
    run.setdefault('archive_weights', False)
    for tag, spec in run.prune.items():
        _check_prune_spec(path, f'{where}.prune.{tag}', spec)
        for flag in ('coupled', 'finetune'):
            if not isinstance(spec.get(flag, False), bool):
                _fail(path, f'{where}.prune.{tag}', f'{flag} must '
                      f'be True or False, got {spec[flag]!r}')


def _check_det_run(path: str, where: str, run,
                   cls_runs: Dict[str, List[str]]) -> None:
    """A det run's backbone (an earlier cls run, or one of its prune tags)
    and metric."""
    if 'backbone' not in run:
        _fail(path, where, "a det run needs backbone='RUN[:TAG]'")
    source, _, tag = run.backbone.partition(':')
    if source not in cls_runs:
        _fail(path, f'{where}.backbone',
              f'{source!r} is not an earlier cls run '
              f'(known: {sorted(cls_runs)})')
    if tag and tag not in cls_runs[source]:
        _fail(path, f'{where}.backbone',
              f'{source} has no prune tag {tag!r} '
              f'(known: {cls_runs[source]})')
    run.setdefault('metric', 'bbox')
    if run.metric not in ('bbox', 'segm'):
        _fail(path, f'{where}.metric',
              f"must be 'bbox' or 'segm', got {run.metric!r}")
