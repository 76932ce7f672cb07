"""The plan as a markdown table, the papers' times beside it."""
from .schedule import PHASE_LABELS


def _hours(value: float) -> str:
    if value >= 100:
        return f'{value:,.0f}'
    return f'{value:.3g}'


def _steps(row: dict) -> str:
    total = sum(row['phase_iters'].values())
    return '; '.join(
        f'{PHASE_LABELS[p]} {100 * n / total:.0f} % '
        f'{row["phase_seconds"][p]:.3g} s'
        for p, n in row['phase_iters'].items())


def plan_to_markdown(plan: dict) -> str:
    """The plan as a markdown table, the papers' times beside it."""
    cpu = plan['device'] == 'cpu'
    unit = 'CPU-h' if cpu else 'GPU-h'
    load = ', '.join(f'{x:g}' for x in plan['load_average'])
    lines = [f'# Cost plan: {plan["title"]}', '',
             f'Device: **{plan["device_description"]}**; load average '
             f'(1, 5, 15 min) at the end: {load}.']
    if cpu:
        lines.append('**A CPU projection**: the figures are for this CPU; '
                     'the GPU figure needs a GPU run of the same command '
                     '(the planner uses CUDA when torch sees it).')
    if plan['smoke_test']:
        lines.append(f'**Smoke test** (shapes overridden: '
                     f'{plan["smoke_test"]}): the hours are not a '
                     'projection.')
    lines += [
        '',
        f'Each phase of a run timed over {plan["timed_iters"]} training '
        f'steps after {plan["warmup_iters"]} untimed, on synthetic inputs '
        'of the config\'s shapes (its own pipeline); the run\'s speed is '
        'the phases weighted by their share of the schedule (W: weights '
        'alone, Phi: a Phi-step, W(P): weights under cached P, Phi+W: both '
        'per batch). Device-hours = iterations per device x devices / '
        f'(it/s) / 3600 per seed (+ the suite\'s fine-tunes); training '
        'steps only: data loading, validation, testing and pruning are not '
        f'counted. Peak memory: {plan["memory_method"]}.', '',
        f'| run | input / step | devices x batch | schedule | iterations / '
        f'device | steps (share, s/it) | it/s | peak mem (MiB) | {unit} / '
        f'seed | seeds | {unit} |',
        '| --- | --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: '
        '| ---: |']
    for r in plan['rows']:
        iters = f'{r["iters_per_device"]:,}'
        if r['finetune_iters_per_device']:
            iters += f' + {r["finetune_iters_per_device"]:,} fine-tune'
        lines.append(
            f'| {r["run"]} | {r["input_shape"]} | {r["devices"]} x '
            f'{r["batch_size"]} | {r["schedule"]} | {iters} | {_steps(r)} | '
            f'{r["it_per_s"]:.3g} | {r["peak_memory_mb"]:,.0f} | '
            f'{_hours(r["device_hours_per_seed"])} | {r["seeds"]} | '
            f'{_hours(r["device_hours"])} |')
    lines.append(f'| **total** | | | | | | | | | '
                 f'{sum(r["seeds"] for r in plan["rows"])} | '
                 f'**{_hours(plan["total_device_hours"])}** |')
    notes = sorted({f'{r["run"]}: {n}' for r in plan['rows']
                    for n in r['notes']})
    if notes:
        lines += [''] + [f'- {n}' for n in notes]
    paper = [r for r in plan['rows'] if r['paper_gpu_days'] is not None]
    if paper:
        kind = 'CPU' if cpu else 'GPU'
        lines += [
            '', '## Beside the papers (one training run)', '',
            f'| run | paper: GPU days | planner: {kind} days | planner / '
            'paper |', '| --- | ---: | ---: | ---: |']
        for r in paper:
            days = r['device_hours_per_seed'] / 24
            lines.append(f'| {r["run"]} | {r["paper_gpu_days"]:g} | '
                         f'{days:.3g} | {days / r["paper_gpu_days"]:.3g} |')
        if cpu:
            lines.append('')
            lines.append('The planner\'s days are CPU days of this machine, '
                         'the paper\'s GPU days of the authors\' GPUs: the '
                         'ratio is not a reproduction of their time.')
    return '\n'.join(lines) + '\n'
