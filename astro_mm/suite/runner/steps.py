"""The steps of a unit, each a tool of this repo in its own process:
train (resuming), test, validate, prune, fine-tune, and a det run's
backbone swap."""
import os
import os.path as osp
import sys
import time
from typing import List, Optional, Sequence, Tuple

from ..complexity import classifier_complexity
from ..launch import named_devices, plan_batch, train_command
from .records import CONFIG_LOCK, checkpoint_params, read_config, read_json, \
    write_json


class UnitSteps:
    """The steps of a unit of a :class:`~.SuiteRunner` (which sets ``cfg``,
    ``root``, ``runs_root``, ``launch``, ``log`` and runs each tool through
    ``_tool``)."""

    def _train(self, config: str, unit_dir: str, options: List[str]) -> str:
        """Train (resuming an interrupted run); return the final checkpoint."""
        done_file = osp.join(unit_dir, 'train_done.json')
        if osp.isfile(done_file):
            return read_json(done_file)['checkpoint']
        args = ['tools/train.py', config, '--work-dir', unit_dir]
        if osp.isfile(osp.join(unit_dir, 'last_checkpoint')):
            self.log('  resuming the interrupted training')
            args.append('--resume')
        batch = self.batch_plan(config, options)
        self.log(f'  training on {batch.devices} device(s), total batch '
                 f'{batch.total_batch} (log: {unit_dir}/train.log)'
                 if batch else f'  training (log: {unit_dir}/train.log)')
        args += ['--cfg-options'] + options + (batch.options if batch else [])
        job_name = '-'.join([self.cfg.suite.name] + osp.relpath(
            unit_dir, self.runs_root).split(os.sep))
        devices = batch.devices if batch else 1
        command = train_command(self.launch, devices, args[1:],
                                job_name=job_name)
        # a plain one-process training is called as every other tool
        launched = ({} if command == [sys.executable] + args else
                    dict(command=command, gpus=devices))
        self._tool(args, osp.join(unit_dir, 'train.log'), **launched)
        with open(osp.join(unit_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        write_json(dict(checkpoint=checkpoint,
                        launch=batch.record() if batch else None), done_file)
        return checkpoint

    def batch_plan(self, config: str, options: List[str]):
        """Devices, batch and lr of a training of ``config`` under the
        suite's launch (:func:`.launch.plan_batch`); None for a config file
        that does not exist (tools/train.py then says so)."""
        if not osp.isfile(osp.join(self.root, config)):
            return None
        cfg = read_config(osp.join(self.root, config), options)
        devices = self.launch.unit_devices(named_devices(cfg, config))
        return plan_batch(cfg, config, devices, self.launch.launcher)

    def _test(self, config: str, checkpoint: str, test_dir: str,
              options: List[str], split: str = 'test') -> dict:
        metrics_file = osp.join(test_dir, 'metrics.json')
        if not osp.isfile(metrics_file):
            self.log(f'  testing on {split} (log: {test_dir}/test.log)')
            args = ['tools/test.py', config, checkpoint, '--work-dir', test_dir]
            if split != 'test':
                args += ['--split', split]
            if options:
                args += ['--cfg-options'] + options
            self._tool(args, osp.join(test_dir, 'test.log'))
        return read_json(metrics_file)['summary']

    def _validate(self, config: str, checkpoint: str, test_dir: str,
                  options: List[str]) -> Optional[float]:
        """Top-1 on the config's validation split (the suite's
        ``validation``), else None: what a study chooses settings on."""
        if not self.cfg.suite.get('validation'):
            return None
        summary = self._test(config, checkpoint, test_dir + '_val', options,
                             split='val')
        return summary.get('cls', {}).get('top1')

    def unit_options(self, run, seed: int,
                     extra: Sequence[str] = ()) -> List[str]:
        """The ``--cfg-options`` of a unit's tools: its seed, ``extra``,
        the suite's ``cfg_options``, then the run's own (which win)."""
        return ([f'randomness.seed={seed}'] + list(extra) +
                list(self.cfg.suite.get('cfg_options', [])) +
                list(run.cfg_options))

    def _run_cls(self, run, seed: int, previous: Optional[dict] = None
                 ) -> dict:
        unit_dir = self.unit_dir(run.name, seed)
        options = self.unit_options(run, seed)
        checkpoint = self._train(run.config, unit_dir, options)
        summary = self._test(run.config, checkpoint,
                             osp.join(unit_dir, 'test'), options)
        result = dict(checkpoint=checkpoint,
                      top1=summary.get('cls', {}).get('top1'))
        top1_val = self._validate(run.config, checkpoint,
                                  osp.join(unit_dir, 'test'), options)
        if top1_val is not None:
            result['top1_val'] = top1_val
        result.update(self._complexity(run, options))
        if run.finetune_unpruned and self.cfg.suite.finetune:
            result.update(self._finetune_unpruned(
                run, checkpoint, unit_dir, options))
        done = (previous or {}).get('pruned', {})
        result['pruned'] = {}
        for tag, spec in run.prune.items():
            if done.get(tag):
                result['pruned'][tag] = done[tag]
                continue
            result['pruned'][tag] = self._prune(run, tag, spec, checkpoint,
                                                unit_dir, options, result,
                                                seed)
            # each finished tag is written (and archived) at once: a unit
            # of many tags cut short keeps them, and the reading sees them
            self._write_result(run, seed, dict(result), previous or {})
        return result

    def _complexity(self, run, options: List[str]) -> dict:
        """Params of the TNet (no modulator, no CDS heads) and FLOPs of its
        backbone at the suite's input size, from the built model."""
        with CONFIG_LOCK:  # it reads the config (and builds the model)
            return classifier_complexity(
                osp.join(self.root, run.config), options,
                self.cfg.suite.input_size)

    def finetune_request(self, run, options: List[str]) -> dict:
        """tools/prune.py's arguments of the suite's fine-tune schedule
        (``finetune_epochs``, ``finetune_lr``; none without ``finetune``)."""
        spec = self.cfg.suite.finetune
        if not spec:
            return {}
        epochs = spec.get('epochs')
        if epochs is None:
            cfg = read_config(osp.join(self.root, run.config), options)
            epochs = max(1, round(spec['share'] * cfg.train_cfg.max_epochs))
        request = dict(finetune_epochs=int(epochs))
        if spec.get('lr') is not None:
            request['finetune_lr'] = float(spec['lr'])
        return request

    def _prune_tool(self, config: str, checkpoint: str, out: str,
                    request: dict, options: List[str], log_file: str) -> None:
        """Run tools/prune.py (in its own process, as every tool) on
        ``checkpoint``, its arguments in a request file beside the log.

        The command line names the files; the request (JSON) holds the
        pruning's parameters as values (``budget`` a float, ``coupled`` a
        bool, ...) and the unit's ``cfg_options`` as the suite's
        ``key=value`` strings, which tools/prune.py reads as its flags.
        """
        request = dict(request)
        if options:
            request['cfg_options'] = list(options)
        request_file = log_file[:-len('.log')] + '.request.json'
        write_json(request, request_file)
        self._tool(['tools/prune.py', config, checkpoint, '--out', out,
                    '--request', request_file], log_file)

    def _finetune(self, config: str, unit_dir: str, name: str
                  ) -> Tuple[str, Optional[float], Optional[float]]:
        """Fine-tune with ``config`` (written by tools/prune.py) and test;
        the checkpoint, its top-1, and its validation top-1 (None unless the
        suite has ``validation``)."""
        ft_dir = osp.join(unit_dir, name)
        self.log(f'  fine-tuning {name}')
        # no validation inside: the tests below evaluate the same weights
        checkpoint = self._train(config, ft_dir, ['train_cfg.val_begin=100000'])
        summary = self._test(config, checkpoint, osp.join(ft_dir, 'test'), [])
        top1_val = self._validate(config, checkpoint,
                                  osp.join(ft_dir, 'test'), [])
        return checkpoint, summary.get('cls', {}).get('top1'), top1_val

    def _finetune_unpruned(self, run, checkpoint: str, unit_dir: str,
                           options: List[str]) -> dict:
        """The unpruned network given the same fine-tune as pruned rows."""
        out = osp.join(unit_dir, 'unpruned_finetune.pth')
        if not osp.isfile(out[:-len('.pth')] + '.json'):
            request = dict(method='none', recalibrate_batches=0,
                           latency_repeats=1,
                           **self.finetune_request(run, options))
            self._prune_tool(run.config, checkpoint, out, request, options,
                             osp.join(unit_dir, 'unpruned_finetune.log'))
        _, top1, top1_val = self._finetune(out[:-len('.pth')] + '.py',
                                           unit_dir, 'unpruned_finetuned')
        finetuned = dict(top1_finetuned=top1)
        if top1_val is not None:
            finetuned['top1_val_finetuned'] = top1_val
        return finetuned

    @staticmethod
    def prune_request(spec: dict, seed: int) -> dict:
        """tools/prune.py's arguments for a prune tag: how the units are
        chosen (threshold, or budget in its measure, with the baseline's
        ranking rule), and the unit's seed (the random pruner's, so that its
        channels differ between training seeds as the trainings do)."""
        if 'budget' in spec:
            how = dict(budget=float(spec['budget']),
                       measure=spec.get('measure', 'params'))
        elif 'threshold' in spec:
            how = dict(threshold=float(spec['threshold']))
        else:  # method='early': the channels its training removed
            how = {}
        if 'method' in spec:
            how['method'] = spec['method']
        if 'rank' in spec:
            how['rank'] = spec['rank']
        if spec.get('coupled'):
            how['coupled'] = True
        how['seed'] = int(seed)
        return how

    @classmethod
    def prune_args(cls, spec: dict, seed: int) -> List[str]:
        """:meth:`prune_request` as tools/prune.py's flags: what the log
        prints (the command a user would type)."""
        args = []
        for key, value in cls.prune_request(spec, seed).items():
            args += ['--' + key] if value is True else ['--' + key,
                                                         str(value)]
        return args

    def _prune(self, run, tag: str, spec: dict, checkpoint: str,
               unit_dir: str, options: List[str], unpruned: dict,
               seed: int) -> dict:
        start = time.time()
        out = osp.join(unit_dir, f'pruned_{tag}.pth')
        report_file = out[:-len('.pth')] + '.json'
        if not osp.isfile(report_file):
            flags = ' '.join(self.prune_args(spec, seed))
            self.log(f'  pruning {tag} ({flags})')
            request = dict(input_size=int(self.cfg.suite.input_size),
                           **self.prune_request(spec, seed),
                           **self.finetune_request(run, options))
            self._prune_tool(run.config, checkpoint, out, request, options,
                             osp.join(unit_dir, f'prune_{tag}.log'))
        report = read_json(report_file)
        pruned_config = out[:-len('.pth')] + '.py'
        summary = self._test(pruned_config, out,
                             osp.join(unit_dir, f'pruned_{tag}_test'), [])
        top1_val = self._validate(pruned_config, out,
                                  osp.join(unit_dir, f'pruned_{tag}_test'), [])
        finetuned_checkpoint = finetuned = finetuned_val = None
        if self.cfg.suite.finetune and spec.get('finetune', True):
            finetuned_checkpoint, finetuned, finetuned_val = self._finetune(
                pruned_config, unit_dir, f'pruned_{tag}_finetuned')
        removed = report['params_before'] - report['params_after']
        batch16 = report['latency'].get('batch16', {})
        validation = dict(top1_val=top1_val,
                          top1_val_finetuned=finetuned_val) \
            if self.cfg.suite.get('validation') else {}
        return dict(
            checkpoint=out,
            top1=summary.get('cls', {}).get('top1'),
            top1_finetuned=finetuned,
            finetuned_checkpoint=finetuned_checkpoint,
            **validation,
            measure=report.get('measure', spec.get('measure')),
            rank=report.get('rank'),
            threshold=report['threshold'],
            params_M=round(unpruned['params_M'] - removed / 1e6, 4),
            flops_G=round(report['flops_after'] / 1e9, 4),
            params_ratio=report['params_ratio'],
            flops_ratio=report['flops_ratio'],
            latency_ratio=(batch16['after_ms'] / batch16['before_ms']
                           if batch16 else None),
            # prune, tests and fine-tune (of this process, when resumed)
            minutes=round((time.time() - start) / 60, 2))

    def backbone_checkpoint(self, spec: str, seed: int
                            ) -> Tuple[str, Optional[str]]:
        """The weights a det run's backbone takes, and (for a pruned
        backbone) the checkpoint whose meta holds its widths: the pruned
        export, whose fine-tuned weights are taken when there are some."""
        source, _, tag = spec.partition(':')
        seeds = self.runs[source].seeds
        seed = seed if seed in seeds else seeds[0]
        result = self.result(source, seed)
        if tag:
            pruned = result['pruned'][tag]
            weights, widths = (pruned.get('finetuned_checkpoint') or
                               pruned['checkpoint'], pruned['checkpoint'])
        else:
            weights, widths = result['checkpoint'], None
        if not osp.isfile(weights):
            raise FileNotFoundError(
                f'the backbone {spec!r} (seed {seed}) has no weights at '
                f'{weights}: its unit was restored from the archive, which '
                'keeps results only; delete its folder '
                f'{self.unit_dir(source, seed)} and run the suite again to '
                'retrain it')
        return weights, widths

    def _run_det(self, run, seed: int) -> dict:
        unit_dir = self.unit_dir(run.name, seed)
        backbone, widths = self.backbone_checkpoint(run.backbone, seed)
        swap = [f'model.backbone.init_cfg.checkpoint={backbone}']
        if widths:
            swap.append(f'model.backbone.widths={widths}')
        options = self.unit_options(run, seed, swap)
        checkpoint = self._train(run.config, unit_dir, options)
        summary = self._test(run.config, checkpoint,
                             osp.join(unit_dir, 'test'), options)
        return dict(
            checkpoint=checkpoint, backbone_checkpoint=backbone,
            metrics=summary,
            params_M=round(checkpoint_params(checkpoint) / 1e6, 4),
            backbone_params_M=round(
                checkpoint_params(checkpoint, 'backbone.') / 1e6, 4))
