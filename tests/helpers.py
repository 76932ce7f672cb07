"""Checks and steps that several test modules share.

Fixtures live in ``conftest.py``; plain functions the tests call live here
(``from helpers import ...``: pytest puts this folder on ``sys.path``, as
for ``conftest``).
"""
import os

from astro_mm.apis import prune_checkpoint
from conftest import ROOT


def prune_in_process(config: str, checkpoint: str, out: str, **options):
    """:func:`astro_mm.apis.prune_checkpoint` (what ``tools/prune.py``
    runs) from the repository root, as the command line runs it: relative
    config paths resolve there. Returns the report."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return prune_checkpoint(config, checkpoint, out, **options)
    finally:
        os.chdir(cwd)
