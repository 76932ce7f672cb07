"""The suite runner (:class:`SuiteRunner`), split by job: :mod:`.scheduling`
(order, workers, a tool's process and its share of cores and GPUs),
:mod:`.steps` (train, test, prune, fine-tune), :mod:`.archive` (unit
folders, results, the committed archive), :mod:`.records` (JSON, configs,
the machine) and :mod:`.prepare` (the suite's data)."""
from .archive import ARCHIVED_FILES, ARCHIVED_WEIGHTS
from .prepare import prepare_data
from .records import (BN_STATS, CONFIG_LOCK, ToolError, checkpoint_params,
                      machine_mix_warning, machine_record, options_dict,
                      read_config, read_json, write_json)
from .suite_runner import SuiteRunner

__all__ = [
    'SuiteRunner', 'ToolError', 'prepare_data', 'read_config', 'read_json',
    'write_json', 'checkpoint_params', 'machine_record',
    'machine_mix_warning', 'options_dict', 'CONFIG_LOCK', 'BN_STATS',
    'ARCHIVED_FILES', 'ARCHIVED_WEIGHTS'
]
