"""Entry points shared by the command-line tools."""
from .finetune import finetune_config
from .runner_setup import (add_common_args, build_runner, load_config,
                           release_dist, use_validation_split)

__all__ = [
    'add_common_args', 'load_config', 'build_runner', 'release_dist',
    'finetune_config', 'use_validation_split'
]
