"""Models: the modulated side of the backbone (:mod:`.modulated`), the
modulators (:mod:`.modulators`), Algorithm 1 (:mod:`.algorithms`), the
pruned-backbone rebuild and CIFAR backbones (:mod:`.backbones`), and the CDS
baseline (classifier, heads, losses, data preprocessor).

Importing this package imports none of them: ``astro_mm.registry.MODELS``
lists each subpackage in its ``locations``, which mmengine imports when a
config first names an ``astro_mm.`` model, and the names below are
resolved on first access (PEP 562), so that the backbone families, which
build on :mod:`.modulated`, can import it without importing every model
(and mmpretrain with the CDS baseline).
"""
import importlib

_EXPORTS = {
    'AlternatingAlgorithm': 'algorithms',
    'AstroNetModulator': 'modulators',
    'MANetModulator': 'modulators',
    'FreeLogitsModulator': 'modulators',
    'DenseNet_CIFAR': 'backbones',
    'CIFARResNet': 'backbones',
    'build_pruned_backbone': 'backbones',
    'CDSImageClassifier': 'classifiers',
    'CDSProjectionHead': 'heads',
    'MultiViewClsDataPreprocessor': 'data_preprocessors',
    'SupConLoss': 'losses',
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'.{_EXPORTS[name]}', __name__),
                   name)
