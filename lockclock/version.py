"""The package version, in a module of its own: any layer can read it without importing
the public API (and through it the whole package)."""

from __future__ import annotations

__version__ = "0.1.0"
