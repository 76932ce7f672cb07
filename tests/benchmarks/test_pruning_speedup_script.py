"""benchmarks/pruning_speedup.py: fresh processes per backbone, medians."""
import json
import re
import statistics

from conftest import run_tool


def test_speedup_takes_the_median_of_its_processes_and_keeps_its_last_line(
        tmp_path):
    out = tmp_path / 'report.json'
    proc = run_tool('benchmarks/pruning_speedup.py', '--backbones', 'r18',
                    '--budget', '0.6', '--coupled', '--input-size', '32',
                    '--repeats', '1', '--processes', '3', '--json-out',
                    str(out))
    lines = proc.stdout.strip().splitlines()
    last = re.fullmatch(r'pruning: params_ratio=(\S+) latency_ratio=(\S+) '
                        r'max_abs_diff=(\S+)', lines[-1])
    assert last, lines[-1]
    # one summary line: the processes' own are not printed
    assert sum(line.startswith('pruning:') for line in lines) == 1
    assert abs(float(last.group(1)) - 0.6) <= 0.02
    assert float(last.group(3)) < 1e-4  # the export computes what P says
    report, = json.loads(out.read_text())
    assert report['processes'] == 3
    for timing in report['latency'].values():
        assert len(timing['ratios']) == 3
        assert timing['ratio'] == statistics.median(timing['ratios'])
    worst = max(t['ratio'] for t in report['latency'].values())
    assert f'latency_ratio={worst:.3f}' in lines[-1]


def test_speedup_prunes_resnet50s_stem_group_by_its_p(tmp_path):
    """ResNet-50's stem is a channel group of its own: with --coupled the
    benchmark modulates it, the export ranks its channels by P with the
    others', and the pruned network still computes what P says."""
    out = tmp_path / 'report.json'
    proc = run_tool('benchmarks/pruning_speedup.py', '--backbones', 'r50',
                    '--budget', '0.6', '--coupled', '--input-size', '32',
                    '--repeats', '1', '--processes', '1', '--json-out',
                    str(out))
    assert '53 modulated layers' in proc.stdout + proc.stderr  # 52 + stem
    report, = json.loads(out.read_text())
    widths = report['stage_widths']
    assert list(widths)[0] == 'stem' and 1 <= widths['stem'] < 64
    assert all(widths[f'layer{i + 1}'] < 256 * 2**i for i in range(4))
    assert report['max_abs_diff'] < 1e-4
    assert abs(report['params_ratio'] - 0.6) <= 0.02
