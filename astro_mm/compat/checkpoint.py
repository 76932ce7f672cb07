"""Checkpoint loading that is safe by default, and atomic saving.

torch >= 2.6 loads with ``weights_only=True`` by default and then refuses
mmengine's own checkpoints (they pickle mmengine's ``HistoryBuffer`` and
numpy arrays). Turning ``weights_only`` off would let any checkpoint run
code while it is unpickled. Instead, :func:`load_checkpoint_file` keeps
``weights_only=True`` and allow-lists exactly the types mmengine, mmdet and
mmpretrain put into a checkpoint; anything else is refused with
:class:`UnsafeCheckpointError`, before any of the file's code can run.

Files the user trusts can still be loaded with full pickle, by an explicit
opt-in:

* ``ASTRO_MM_TRUSTED_CHECKPOINTS=/path/a.pth:/path/b.pth`` (or ``=*`` for
  every file), or
* ``with trusted_checkpoints(): ...`` around the code that loads them, or
* ``load_checkpoint_file(path, trusted=True)``.
"""
import contextlib
import os
import os.path as osp
import pickle
import re
import socket
import tempfile
from typing import Iterator, List, Optional

import numpy as np
import torch

TRUSTED_ENV = 'ASTRO_MM_TRUSTED_CHECKPOINTS'
_trust_all_depth = 0


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint's pickle refers to a type that is not allow-listed."""


def _numpy_globals() -> List:
    """The numpy types a pickled ndarray or numpy scalar refers to."""
    items = [np.ndarray, np.dtype, np.core.multiarray._reconstruct,
             np.core.multiarray.scalar]
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25
    if dtypes is not None:
        items += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return items


def _history_buffer_getattr(obj, name):
    """Stand-in for ``builtins.getattr`` while unpickling.

    mmengine's ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'min')``. Allowing the real ``getattr`` would let
    a pickle reach any attribute of any allowed object; this one resolves
    only those statistics methods and refuses everything else.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    is_buffer = obj is HistoryBuffer or isinstance(obj, HistoryBuffer)
    # its own public methods (min, max, mean, current, ...), nothing inherited
    method = vars(HistoryBuffer).get(name)
    if is_buffer and not name.startswith('_') and callable(method):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'GLOBAL builtins.getattr({type(obj).__name__}, {name!r}) is not an '
        'allowed checkpoint attribute')


def _mmengine_globals() -> List:
    """The mmengine types stored in the ``message_hub`` of a checkpoint."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')]


def safe_globals() -> List:
    """Types allowed in a checkpoint besides torch's own weights-only set."""
    import collections
    return [
        *_numpy_globals(), *_mmengine_globals(), collections.OrderedDict,
        collections.defaultdict, set, frozenset, slice, range
    ]


def _is_trusted(filename: str) -> bool:
    if _trust_all_depth > 0:
        return True
    value = os.environ.get(TRUSTED_ENV, '')
    if value.strip() == '*':
        return True
    trusted = {osp.realpath(p) for p in value.split(os.pathsep) if p}
    return osp.realpath(filename) in trusted


@contextlib.contextmanager
def trusted_checkpoints() -> Iterator[None]:
    """Load every checkpoint inside this block with full pickle.

    Only for files whose origin you trust: unpickling can run arbitrary code.
    """
    global _trust_all_depth
    _trust_all_depth += 1
    try:
        yield
    finally:
        _trust_all_depth -= 1


def load_checkpoint_file(filename: str,
                         map_location=None,
                         trusted: Optional[bool] = None):
    """Load a local checkpoint with ``weights_only=True`` and the allow-list.

    Args:
        filename (str): Path of the checkpoint.
        map_location: Same as :func:`torch.load`.
        trusted (bool, optional): Unpickle without restrictions. Defaults to
            the opt-ins described in the module docstring.

    Returns:
        The unpickled checkpoint.

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: The pickle names a type outside the allow-list.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    if trusted is None:
        trusted = _is_trusted(filename)
    if trusted:
        return torch.load(filename, map_location=map_location,
                          weights_only=False)
    try:
        with torch.serialization.safe_globals(safe_globals()):
            return torch.load(filename, map_location=map_location,
                              weights_only=True)
    except pickle.UnpicklingError as err:
        match = re.search(r'GLOBAL ([\w.]+)', str(err))
        culprit = match.group(1) if match else 'an unsupported object'
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint {filename}: its pickle refers to '
            f'{culprit}, which is not an allow-listed checkpoint type, so '
            'loading it could run code. If you trust this file, set '
            f'{TRUSTED_ENV}={filename} (or use '
            'astro_mm.compat.trusted_checkpoints()).') from None


def load_from_safe_local(filename, map_location):
    """``CheckpointLoader`` scheme for local paths (load_from, resume, init_cfg)."""
    return load_checkpoint_file(filename, map_location)


_TMP_SUFFIX = '.tmp'
# .{target name}.atomic.{host}.{pid}.{mkstemp's 8 random characters}.tmp
_TMP_PATTERN = re.compile(
    r'^\.(?P<target>.+)\.atomic\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)'
    r'\.[A-Za-z0-9_]+\.tmp$')


def _host_tag() -> str:
    """This machine's name, reduced to characters safe in a file name."""
    return re.sub(r'[^A-Za-z0-9-]', '-', socket.gethostname()) or 'localhost'


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def stale_temp_files(folder: str) -> List[str]:
    """Temp files that :func:`atomic_write_bytes` left in ``folder`` when its
    process died mid-write (SIGKILL, power loss).

    Only this writer's own naming pattern counts, and only files written on
    this machine by a process that no longer runs: a write in progress (in
    this or another process, or on another machine sharing the folder) is
    never touched.

    Args:
        folder (str): The folder to look into (not recursive).

    Returns:
        list[str]: Paths of the stale temp files.
    """
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    host, own_pid, stale = _host_tag(), os.getpid(), []
    for name in names:
        match = _TMP_PATTERN.match(name)
        if match is None or match.group('host') != host:
            continue
        pid = int(match.group('pid'))
        if pid != own_pid and not _pid_alive(pid):
            stale.append(osp.join(folder, name))
    return stale


def remove_stale_temp_files(folder: str) -> List[str]:
    """Delete :func:`stale_temp_files` of ``folder``; return their paths."""
    removed = []
    for path in stale_temp_files(folder):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            removed.append(path)
    return removed


def atomic_write_bytes(data: bytes, filepath: str) -> None:
    """Write ``data`` so that ``filepath`` is either the old or the new file.

    The data goes to a temp file in the same folder
    (``.{name}.atomic.{host}.{pid}.XXXXXXXX.tmp``), which is synced and then
    renamed over ``filepath``. A crash mid-write therefore leaves a temp
    file behind, never a truncated file under the real name; the next write
    into the same folder removes such leftovers (see
    :func:`stale_temp_files`).
    """
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    remove_stale_temp_files(folder)
    fd, tmp = tempfile.mkstemp(
        dir=folder,
        prefix=f'.{osp.basename(filepath)}.atomic.{_host_tag()}.'
        f'{os.getpid()}.',
        suffix=_TMP_SUFFIX)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
