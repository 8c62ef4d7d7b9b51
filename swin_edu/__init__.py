"""swin-edu: the Swin Transformer rebuilt step by step, from pure numpy to a fast PyTorch model.

Modules: ``config`` (SwinConfig and presets), ``complexity`` (MACs and parameter counts),
``numpy_ref`` (pure-numpy reference of every building block), ``model`` (PyTorch), ``viz``
(figures and widgets), ``exercises`` (self-checks for the notebooks).
"""
__version__ = "0.1.0"

from .config import SwinConfig  # noqa: F401
