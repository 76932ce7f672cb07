"""Former name of ``tools/run_suite.py``, the suite runner; kept for a
while as an alias: it warns, then runs ``tools/run_suite.py`` with the same
arguments in its place (``os.execv``: the same process id, exit status and
output; nothing is imported from a file by its path). Write
``python tools/run_suite.py SUITE ...``."""
import os
import os.path as osp
import sys
import warnings

if __name__ == '__main__':
    # raised in __main__: Python shows it by default, on stderr
    warnings.warn('tools/benchmark.py is now tools/run_suite.py (the same '
                  'arguments); the old name is an alias that will be '
                  'removed', DeprecationWarning)
    sys.stderr.flush()
    run_suite = osp.join(osp.dirname(osp.abspath(__file__)), 'run_suite.py')
    os.execv(sys.executable, [sys.executable, run_suite] + sys.argv[1:])
