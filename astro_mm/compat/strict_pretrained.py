"""``init_cfg=dict(type='Pretrained', _scope_='astro_mm', ...)``: a
pretrained load that fails when it leaves backbone weights random.

mmengine's ``PretrainedInit`` loads non-strictly: with a wrong ``prefix``, a
checkpoint of another architecture or a renamed layer, the unmatched
weights of the module keep their random initialization and only a log line
says so. Training then goes on, and a table compares a random backbone with
a pretrained one. :class:`StrictPretrainedInit` refuses a checkpoint that
leaves any tensor of the module unloaded, or holds one of another shape,
naming the checkpoint and the first few keys. Tensors of the checkpoint that
the module does not have (a classifier's ``fc.*`` or ``head.*``, CDS
heads) are skipped, as mmengine does: they leave nothing random.

It is opt-in, per ``init_cfg``: registered as ``Pretrained`` in astro_mm's
``WEIGHT_INITIALIZERS`` (not mmengine's), so ``_scope_='astro_mm'`` selects
it while the type stays ``'Pretrained'``, the name mmengine's ``BaseModule``
runs after every other initializer. ``type='Pretrained'`` without the scope
is mmengine's, also after ``import astro_mm``. astro_mm's configs and the
detector configs ``tools/prune.py --emit`` writes use the strict one::

    init_cfg=dict(type='Pretrained', _scope_='astro_mm',
                  checkpoint='cls.pth', prefix='backbone.')

``strict=False`` restores mmengine's behaviour on purpose (a partial load).
"""
import re
from typing import Dict, List, Optional

from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info

from astro_mm.registry import WEIGHT_INITIALIZERS

# How many keys an error message lists per kind.
_MAX_LISTED = 5


class PretrainedMismatchError(RuntimeError):
    """A pretrained checkpoint that does not cover the module exactly."""


def _listed(keys: List[str]) -> str:
    more = f', ... ({len(keys)} in all)' if len(keys) > _MAX_LISTED else ''
    return ', '.join(keys[:_MAX_LISTED]) + more


def _top_prefixes(keys) -> List[str]:
    return sorted({k.split('.', 1)[0] + '.' for k in keys})


def _read_state_dict(checkpoint: str, prefix: Optional[str],
                     map_location) -> Dict:
    """The checkpoint's tensors under ``prefix``, with the prefix removed."""
    from mmengine.runner.checkpoint import _load_checkpoint
    loaded = _load_checkpoint(checkpoint, map_location=map_location)
    state_dict = loaded.get('state_dict', loaded)
    if not prefix:
        # as mmengine's load_checkpoint: drop a DDP wrapper's prefix
        return {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    if not prefix.endswith('.'):
        prefix += '.'
    selected = {
        k[len(prefix):]: v
        for k, v in state_dict.items() if k.startswith(prefix)
    }
    if not selected:
        raise PretrainedMismatchError(
            f'{checkpoint}: no key starts with the init_cfg prefix '
            f'{prefix!r} (its keys start with {_top_prefixes(state_dict)}); '
            'fix init_cfg.prefix or init_cfg.checkpoint')
    return selected


def _missing_message(module, checkpoint: str, prefix: Optional[str],
                     missing: List[str], unexpected: List[str]) -> str:
    where = f'{checkpoint}' + (f" (prefix '{prefix}')" if prefix else '')
    skipped = ''
    if unexpected:
        skipped = (f' ({len(unexpected)} tensors of the checkpoint are not '
                   f'in the model and were skipped: {_listed(unexpected)})')
    return (f'pretrained checkpoint {where} does not cover '
            f'{type(module).__name__}: {len(missing)} of its tensors are not '
            f'in the checkpoint: {_listed(missing)}; they would stay randomly '
            f'initialized{skipped}. Fix init_cfg.prefix / '
            'init_cfg.checkpoint (or the model config), or set '
            'init_cfg.strict=False to load only the matching keys on purpose')


@WEIGHT_INITIALIZERS.register_module(name='Pretrained')
class StrictPretrainedInit(PretrainedInit):
    """mmengine's ``Pretrained`` initializer that refuses to leave any
    tensor of the module randomly initialized, unless told otherwise.

    Selected with ``init_cfg=dict(type='Pretrained', _scope_='astro_mm',
    ...)`` (see the module docstring).

    Args:
        checkpoint (str): The checkpoint file (or URL scheme mmengine
            knows).
        prefix (str, optional): Load only the tensors under this prefix,
            with the prefix removed (``'backbone.'`` swaps a classifier's
            backbone into a detector).
        map_location (str): As in mmengine. Defaults to ``'cpu'``.
        strict (bool): True (default): every tensor of the module must be in
            the checkpoint (under ``prefix``), with its shape; else
            :class:`PretrainedMismatchError` names the checkpoint and the
            first few keys. Tensors of the checkpoint that the module does
            not have are skipped (logged). False: mmengine's non-strict
            load.
    """

    def __init__(self,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 map_location: str = 'cpu',
                 strict: bool = True):
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        self.strict = strict

    def __call__(self, module) -> None:
        if not self.strict:
            return super().__call__(module)
        print_log(
            f'load {self.prefix or "model"} from {self.checkpoint} '
            '(strict)',
            logger='current')
        state_dict = _read_state_dict(self.checkpoint, self.prefix,
                                      self.map_location)
        try:
            result = module.load_state_dict(state_dict, strict=False)
        except RuntimeError as e:  # shape mismatches
            raise PretrainedMismatchError(
                f'pretrained checkpoint {self.checkpoint} does not match '
                f'{type(module).__name__}: {e}') from e
        # mmengine's convention: old checkpoints lack num_batches_tracked
        missing = [
            k for k in result.missing_keys if 'num_batches_tracked' not in k
        ]
        unexpected = list(result.unexpected_keys)
        if missing:
            raise PretrainedMismatchError(
                _missing_message(module, self.checkpoint, self.prefix,
                                 missing, unexpected))
        if unexpected:
            print_log(
                f'{self.checkpoint}: skipped {len(unexpected)} tensors that '
                f'{type(module).__name__} does not have: '
                f'{_listed(unexpected)}',
                logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())
