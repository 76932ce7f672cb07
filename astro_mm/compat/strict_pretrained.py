"""``init_cfg=dict(type='Pretrained', ...)`` that fails on a partial load.

mmengine's ``PretrainedInit`` loads non-strictly: with a wrong ``prefix``, a
checkpoint of another architecture or a renamed layer, the unmatched
weights keep their random initialization and only a log line says so.
Training then goes on, and a table compares a random backbone with a
pretrained one. :class:`StrictPretrainedInit` replaces it under the same
name (so mmengine still runs it after every other initializer) and refuses
a checkpoint that leaves any tensor of the module unloaded, or holds
tensors under the prefix that the module does not have, naming the first
few keys and the checkpoint. ``strict=False`` restores mmengine's
behaviour on purpose (e.g. a torchvision checkpoint whose ``fc.*`` the
backbone has no use for)::

    init_cfg=dict(type='Pretrained', checkpoint='cls.pth', prefix='backbone.',
                  strict=False)
"""
import re
from typing import Dict, List, Optional

from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info

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


def _mismatch_message(module, checkpoint: str, prefix: Optional[str],
                      missing: List[str], unexpected: List[str]) -> str:
    where = f'{checkpoint}' + (f" (prefix '{prefix}')" if prefix else '')
    parts = []
    if missing:
        parts.append(f'{len(missing)} tensors of the model are not in it: '
                     f'{_listed(missing)}')
    if unexpected:
        parts.append(f'{len(unexpected)} of its tensors are not in the '
                     f'model: {_listed(unexpected)}')
    return (f'pretrained checkpoint {where} does not match '
            f'{type(module).__name__}: {"; ".join(parts)}. The unmatched '
            'weights would stay randomly initialized. Fix init_cfg.prefix / '
            'init_cfg.checkpoint (or the model config), or set '
            'init_cfg.strict=False to load only the matching keys on purpose')


class StrictPretrainedInit(PretrainedInit):
    """mmengine's ``Pretrained`` initializer, strict unless told otherwise.

    Args:
        checkpoint (str): The checkpoint file (or URL scheme mmengine
            knows).
        prefix (str, optional): Load only the tensors under this prefix,
            with the prefix removed (``'backbone.'`` swaps a classifier's
            backbone into a detector).
        map_location (str): As in mmengine. Defaults to ``'cpu'``.
        strict (bool): True (default): every tensor of the module must be in
            the checkpoint (under ``prefix``), every tensor there must be in
            the module, with equal shapes; else
            :class:`PretrainedMismatchError` names the checkpoint and the
            first few keys. False: mmengine's non-strict load.
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
        if missing or result.unexpected_keys:
            raise PretrainedMismatchError(
                _mismatch_message(module, self.checkpoint, self.prefix,
                                  missing, list(result.unexpected_keys)))
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())
