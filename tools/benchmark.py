"""Former name of ``tools/run_suite.py``, the suite runner; kept for a
while as an alias: it warns, then runs ``run_suite.main`` with the same
arguments. Write ``python tools/run_suite.py SUITE ...``."""
import os.path as osp
import sys
import warnings

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from run_suite import main  # noqa: E402

if __name__ == '__main__':
    # raised in __main__: Python shows it by default, on stderr
    warnings.warn('tools/benchmark.py is now tools/run_suite.py (the same '
                  'arguments); the old name is an alias that will be '
                  'removed', DeprecationWarning)
    main()
