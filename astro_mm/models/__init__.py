"""Filled by the method issues (modulated backbones, alternating optimization)."""
