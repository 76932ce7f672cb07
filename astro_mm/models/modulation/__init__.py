"""The modulation mechanism shared by AstroNet and MA-Net."""
from .descriptors import (DESCRIPTOR_MODES, num_descriptor_features,
                          weight_descriptors)
from .modulated_layers import (DEFAULT_EXCLUDE, ModulatedLayer, UnitScaler,
                               find_modulated_layers, unmodulated_copy)

__all__ = [
    'ModulatedLayer', 'UnitScaler', 'find_modulated_layers', 'DEFAULT_EXCLUDE',
    'weight_descriptors', 'num_descriptor_features', 'DESCRIPTOR_MODES',
    'unmodulated_copy'
]
