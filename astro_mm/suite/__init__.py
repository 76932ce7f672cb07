"""The suite: one config per table of the papers, run resumably by
``tools/run_suite.py``."""
from .config import SuiteConfigError, load_suite
from .runner import SuiteRunner, ToolError, prepare_data
from .table import build_rows, to_csv, to_markdown

__all__ = [
    'load_suite', 'SuiteConfigError', 'SuiteRunner', 'ToolError',
    'prepare_data', 'build_rows', 'to_markdown', 'to_csv'
]
