"""Deployment: a pruned network built from its config and checkpoint
(:mod:`.deployable`), exported to ONNX (:mod:`.onnx_export`), and its
checkpoint published without training state (:mod:`.publish`).

``tools/deploy/export_onnx.py`` and
``tools/model_converters/publish_model.py`` are their command lines. onnx
and onnxruntime are imported only when an export is written or run.
"""
from .deployable import (CheckpointMismatchError, Deployable,
                         build_deployable, build_network, check_state_dict,
                         is_classifier_config, read_config)
from .onnx_export import (OPSET, ExportMismatchError, OnnxExport,
                          export_onnx, onnxruntime_outputs, verify_onnx)
from .publish import (DEPLOY_META_KEYS, PUBLISHED_KEYS, PublishedCheckpoint,
                      publish_checkpoint, published_path, strip_checkpoint)

__all__ = [
    'CheckpointMismatchError', 'Deployable', 'build_deployable',
    'build_network', 'check_state_dict', 'is_classifier_config',
    'read_config', 'OPSET', 'ExportMismatchError', 'OnnxExport',
    'export_onnx', 'onnxruntime_outputs', 'verify_onnx', 'DEPLOY_META_KEYS',
    'PUBLISHED_KEYS', 'PublishedCheckpoint', 'publish_checkpoint',
    'published_path', 'strip_checkpoint'
]
