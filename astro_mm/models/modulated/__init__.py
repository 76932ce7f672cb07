"""The modulated side of the network, shared by AstroNet and MA-Net: which
units of the backbone P scales (:mod:`.modulated_layers`, after the
family's :mod:`.unit_rules`), how P acts on them (``UnitScaler``), and what
the modulator reads of them (:mod:`.descriptors`). The modulators
themselves (the astrocyte networks that produce P) are
:mod:`astro_mm.models.modulators`."""
from .descriptors import (DESCRIPTOR_MODES, num_descriptor_features,
                          weight_descriptors)
from .modulated_layers import (ModulatedLayer, UnitScaler,
                               find_modulated_layers, unmodulated_copy)

__all__ = [
    'ModulatedLayer', 'UnitScaler', 'find_modulated_layers',
    'weight_descriptors', 'num_descriptor_features', 'DESCRIPTOR_MODES',
    'unmodulated_copy'
]
