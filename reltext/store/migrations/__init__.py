"""Versioned schema migrations of the project database.

Each module ``mNNNN_<name>.py`` here defines ``upgrade(connection)``. They run in name order,
once each, inside one transaction per migration; the applied ones are recorded in the
``schema_migrations`` table. Add a new module for every schema change; never edit one that
has shipped.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from types import ModuleType

from sqlalchemy import Connection


def available() -> list[tuple[str, Callable[[Connection], None]]]:
    """All migrations of this package as ``(name, upgrade)`` pairs, in the order they apply."""
    names = sorted(
        info.name for info in pkgutil.iter_modules(__path__) if info.name.startswith("m")
    )
    modules: list[ModuleType] = [importlib.import_module(f"{__name__}.{name}") for name in names]
    return [(module.__name__.rsplit(".", 1)[1], module.upgrade) for module in modules]
