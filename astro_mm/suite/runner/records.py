"""What the suite's units read and write: JSON files (atomically), configs
with their ``key=value`` options (thread-safe), a checkpoint's parameter
count, the machine a unit ran on, and the error of a tool that failed."""
import json
import threading
from typing import Dict, List, Optional

import torch

from astro_mm.compat import atomic_write_bytes, load_checkpoint_file
from astro_mm.engine.optimizers.autocast_optim_wrapper import native_bfloat16

BN_STATS = ('running_mean', 'running_var', 'num_batches_tracked')
# mmengine's Config.fromfile is not thread-safe (two worker threads reading
# configs at once failed in its _base_ resolution: make demo, 2026-12-07):
# every config the runner reads in a worker thread is read under this lock
CONFIG_LOCK = threading.Lock()


def read_config(path: str, options: Optional[List[str]] = None):
    """``Config.fromfile(path)`` with ``key=value`` options merged, safe
    to call from the suite's worker threads."""
    from mmengine.config import Config
    with CONFIG_LOCK:
        cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options_dict(options))
    return cfg


def write_json(obj, path: str) -> None:
    atomic_write_bytes(json.dumps(obj, indent=2).encode(), path)


def read_json(path: str):
    with open(path) as f:
        return json.load(f)


def checkpoint_params(checkpoint: str, prefix: str = '') -> int:
    """Learnable parameters in a checkpoint (batch-norm statistics and any
    non-``prefix`` key left out)."""
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    state = state.get('state_dict', state)
    return sum(v.numel() for k, v in state.items()
               if k.startswith(prefix) and not k.endswith(BN_STATS))


def options_dict(options: List[str]) -> dict:
    """``key=value`` strings as mmengine's DictAction parses them."""
    from mmengine.config import DictAction
    parsed = {}
    for option in options:
        key, _, value = option.partition('=')
        parsed[key] = DictAction._parse_iterable(value)
    return parsed


def machine_record() -> dict:
    """What a unit's result.json keeps of the machine that ran it: the CPU's
    vector capability, and whether it computes bfloat16 natively (where it
    does not, an autocast config trained in float32: AutocastOptimWrapper)."""
    return dict(cpu_capability=torch.backends.cpu.get_cpu_capability(),
                native_bfloat16=native_bfloat16('cpu'),
                cuda=torch.cuda.is_available())


def machine_mix_warning(results: Dict[str, List[dict]]) -> Optional[str]:
    """A warning when a suite's units ran on machines that differ in native
    bfloat16 (a study resumed on another machine): its bfloat16-autocast
    rows then trained in two precisions; None when they do not differ."""
    groups: Dict[str, List[str]] = {}
    for name, unit_results in results.items():
        for result in unit_results:
            native = result.get('machine', {}).get('native_bfloat16')
            groups.setdefault({True: 'with', False: 'without'}.get(
                native, 'unrecorded'), []).append(
                    f'{name} s{result.get("seed")}')
    if len(groups) < 2:
        return None
    return ('units ran on machines that differ in native bfloat16, so a '
            'bfloat16-autocast config trained in float32 on those without '
            'it (AutocastOptimWrapper): ' + '; '.join(
                f'{key} native bfloat16: {", ".join(units)}'
                for key, units in sorted(groups.items())))


class ToolError(RuntimeError):
    """A tool of this repo exited non-zero; the message holds its log tail."""

