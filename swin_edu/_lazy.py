"""Lazy re-exports for a package's ``__init__``: ``name -> submodule``, imported on first use (so that importing
the package stays cheap, and optional dependencies such as ipywidgets load only when asked for)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module


def lazy_exports(package: str, table: Mapping[str, str]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for the package ``package`` whose attribute ``name`` lives in the submodule
    ``table[name]``."""

    def __getattr__(name: str):
        if name in table:
            return getattr(import_module(f".{table[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(import_module(package).__dict__) | set(table))

    return __getattr__, __dir__
