"""Where a suite's units live and what survives them: the unit folders and
their ``result.json`` (which make a re-run skip finished units), the checks
that a finished unit still matches its run, and the committed archive (the
results and figures' inputs of finished units, restored into a fresh
clone's work dir)."""
import glob
import os
import os.path as osp
import shutil
import subprocess
import time
from typing import List, Optional, Tuple

from astro_mm.compat import load_checkpoint_file

from ..config import SuiteConfigError
from .records import machine_record, read_json, write_json

# what an archived unit keeps (globs relative to its unit dir): everything
# the table and the figures read, nothing they do not (weights, logs)
ARCHIVED_FILES = ('result.json', 'pruned_*.json', 'p_history.npz',
                  '*/vis_data/scalars.json')
# the trained weights, for runs with archive_weights (suite.py)
ARCHIVED_WEIGHTS = 'weights.pth'


class UnitArchive:
    """The unit folders, their results and the archive of a
    :class:`~.SuiteRunner` (which sets ``cfg``, ``runs``, ``root``,
    ``runs_root``, ``archive`` and ``log``)."""

    # ------------------------------------------------------------- layout
    def units(self) -> List[Tuple[dict, int]]:
        """Every (run, seed), cls runs first (det runs need their output)."""
        ordered = sorted(self.cfg.runs, key=lambda r: r.task != 'cls')
        return [(run, seed) for run in ordered for seed in run.seeds]

    def unit_dir(self, run_name: str, seed: int) -> str:
        return osp.join(self.runs_root, run_name, f'seed{seed}')

    def result_file(self, run_name: str, seed: int) -> str:
        return osp.join(self.unit_dir(run_name, seed), 'result.json')

    def is_done(self, run_name: str, seed: int) -> bool:
        """Whether the unit's result exists and holds every prune tag the
        run now lists (a tag added to a finished run reopens its unit; the
        unit's finished steps are kept on disk and not recomputed)."""
        if not osp.isfile(self.result_file(run_name, seed)):
            return False
        run = self.runs.get(run_name)
        if run is None or run.task != 'cls':
            return True
        result = self.result(run_name, seed)
        missing_finetune = (run.finetune_unpruned and self.cfg.suite.finetune
                            and 'top1_finetuned' not in result)
        return set(run.prune) <= set(result.get('pruned', {})) and \
            not missing_finetune

    def result(self, run_name: str, seed: int) -> dict:
        return read_json(self.result_file(run_name, seed))

    def check_unit_configs(self) -> None:
        """Refuse a unit whose result came from another config than its
        run now names (its table row would quietly mean the old config, and
        its checkpoints would resume into the new one).

        Results written before the runner recorded the config carry none and
        are taken as they are.

        Raises:
            SuiteConfigError: The recorded config or cfg_options differ.
        """
        for run, seed in self.units():
            if osp.isfile(self.result_file(run.name, seed)):
                self._check_unit_config(run, seed)

    def _check_unit_config(self, run, seed: int) -> None:
        result = self.result(run.name, seed)
        recorded = (result.get('config'), result.get('cfg_options', []))
        suite_options = list(self.cfg.suite.get('cfg_options', []))
        # results written before the suite-wide options were recorded are
        # taken as they are (the study that added them says what they ran)
        if 'suite_cfg_options' in result and \
                result['suite_cfg_options'] != suite_options:
            raise SuiteConfigError(
                f'unit {run.name} seed {seed} in '
                f'{self.unit_dir(run.name, seed)} was run with the suite\'s '
                f'cfg_options {result["suite_cfg_options"]}; the suite now '
                f'names {suite_options}. Move that folder away to rerun it, '
                'or restore the old suite.cfg_options')
        if recorded[0] is None or recorded == (run.config,
                                                list(run.cfg_options)):
            return
        raise SuiteConfigError(
            f'unit {run.name} seed {seed} in '
            f'{self.unit_dir(run.name, seed)} was run with config '
            f'{recorded[0]} (cfg_options {recorded[1]}); the suite now names '
            f'{run.config} (cfg_options {list(run.cfg_options)}). Move that '
            'folder away (or use another --work-dir) to rerun it, or restore '
            'the old config to reprint it')

    # ------------------------------------------------------------ archive
    def archive_dir(self, run_name: str, seed: int) -> str:
        return osp.join(self.archive, run_name, f'seed{seed}')

    def archive_unit(self, run_name: str, seed: int) -> None:
        """Copy a finished unit's results into the archive (replacing
        what an earlier version of the unit left there)."""
        source = self.unit_dir(run_name, seed)
        target = self.archive_dir(run_name, seed)
        staging = target + '.partial'
        shutil.rmtree(staging, ignore_errors=True)
        for pattern in ARCHIVED_FILES:
            for path in glob.glob(osp.join(source, pattern)):
                relative = osp.relpath(path, source)
                os.makedirs(osp.dirname(osp.join(staging, relative)),
                            exist_ok=True)
                shutil.copy2(path, osp.join(staging, relative))
        run = self.runs.get(run_name)
        done = osp.join(source, 'train_done.json')
        if run is not None and run.get('archive_weights') and \
                osp.isfile(done):
            self._archive_weights(read_json(done)['checkpoint'],
                                  osp.join(staging, ARCHIVED_WEIGHTS))
        # swapped in whole: an interrupted copy never looks finished
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)

    @staticmethod
    def _archive_weights(checkpoint: str, target: str) -> None:
        """The trained checkpoint without what only resuming its training
        needs (optimizer, schedulers, message hub)."""
        import torch
        state = load_checkpoint_file(checkpoint, map_location='cpu')
        os.makedirs(osp.dirname(target), exist_ok=True)
        torch.save({key: state[key] for key in ('meta', 'state_dict')
                    if key in state}, target)

    def restore_archived(self) -> int:
        """Copy archived units that the work dir lacks into it; return how
        many were restored."""
        if not self.archive:
            return 0
        restored = 0
        for run, seed in self.units():
            archived = self.archive_dir(run.name, seed)
            if (osp.isfile(osp.join(archived, 'result.json')) and
                    not osp.isfile(self.result_file(run.name, seed))):
                unit_dir = self.unit_dir(run.name, seed)
                shutil.copytree(archived, unit_dir, dirs_exist_ok=True)
                weights = osp.join(unit_dir, ARCHIVED_WEIGHTS)
                if osp.isfile(weights):  # the training need not run again
                    write_json(dict(checkpoint=weights, launch=read_json(
                        self.result_file(run.name, seed)).get('launch')),
                        osp.join(unit_dir, 'train_done.json'))
                restored += 1
        if restored:
            self.log(f'{restored} units restored from the archive '
                     f'{osp.relpath(self.archive, self.root)} (results, and '
                     'the weights of runs with archive_weights)')
        return restored

    def _write_result(self, run, seed: int, result: dict,
                      previous: dict) -> None:
        """Write the unit's ``result.json`` (what ran it: config, machine,
        commit, minutes so far) and archive it. Called after every prune
        tag and at the end: a result missing tags is a unit still to
        finish (:meth:`is_done`)."""
        start = self._unit_start.get((run.name, seed), time.time())
        done = osp.join(self.unit_dir(run.name, seed), 'train_done.json')
        result['launch'] = (read_json(done).get('launch') if osp.isfile(done)
                            else previous.get('launch'))
        result.update(run=run.name, seed=seed, config=run.config,
                      cfg_options=list(run.cfg_options),
                      suite_cfg_options=list(
                          self.cfg.suite.get('cfg_options', [])),
                      machine=machine_record(), commit=self.commit(),
                      minutes=round(previous.get('minutes', 0.) +
                                    (time.time() - start) / 60, 2))
        write_json(result, self.result_file(run.name, seed))
        if self.archive:
            self.archive_unit(run.name, seed)

    def commit(self) -> Optional[str]:
        """The repo's commit the unit ran at (``+dirty`` when the working
        tree had uncommitted changes), or None outside a git checkout: a
        study run in parts says which code made each unit.

        The suite's own archive does not count: a study run from a clean
        clone writes its results there (and updates the results committed
        before), which changes no code."""
        def git(*args):
            return subprocess.run(['git', *args], cwd=self.root,
                                  capture_output=True, text=True)
        head = git('rev-parse', 'HEAD')
        if head.returncode != 0:
            return None
        exclude = []
        if self.archive:
            exclude = ['--', '.', ':(exclude)' +
                       osp.relpath(self.archive, self.root)]
        dirty = git('status', '--porcelain', '--untracked-files=no',
                    *exclude).stdout
        return head.stdout.strip() + ('+dirty' if dirty.strip() else '')
