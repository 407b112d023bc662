"""The layering of reltext's packages (ARCHITECTURE.md), read from the imports themselves."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "reltext"

# Lowest first: a module imports from its own wing and the layers below it, never above.
LAYERS = [
    {"model", "errors", "files", "bidi"},
    {"store"},
    {"exchange"},
    {"coding"},
    {"corpus"},
    {"review"},
    {"learning"},
    {"topics"},
    {"analysis"},
    {"autocode"},
    {"project", "__init__"},
    {"cli", "viewer"},
]
LEVEL = {wing: level for level, wings in enumerate(LAYERS) for wing in wings}
# The faces reach the project database only through the Project API and the wings' functions.
FACES = {"cli", "viewer"}


def _wing(module: str) -> str:
    """``reltext.review.effective`` -> ``review``; ``reltext`` itself -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_of(path: Path, root: Path) -> str:
    parts = ["reltext", *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import that runs, at any depth; those under ``if TYPE_CHECKING:`` only name
    types for annotations."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def package_imports(root: Path = PACKAGE) -> list[tuple[str, str, int]]:
    """``(module, imported module, line)`` for every import of a reltext module."""
    edges = []
    for path in sorted(root.rglob("*.py")):
        module = _module_of(path, root)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                targets = ([target] if node.module else
                           [f"{target}.{alias.name}" for alias in node.names])
            else:
                targets = [node.module or ""]
            edges.extend((module, target, node.lineno) for target in targets
                         if target == "reltext" or target.startswith("reltext."))
    return edges


def layering_breaches(edges: list[tuple[str, str, int]]) -> list[str]:
    breaches = []
    for module, target, line in edges:
        source, imported = _wing(module), _wing(target)
        if source == imported or imported == "__version__":
            continue
        where = f"{module} (line {line}) imports {target}"
        if source not in LEVEL or imported not in LEVEL:
            breaches.append(f"{where}: a wing missing from LAYERS")
        elif LEVEL[imported] > LEVEL[source]:
            breaches.append(f"{where}: {imported} sits above {source}")
        elif source in FACES and imported == "store":
            breaches.append(f"{where}: the faces sit on the Project API, not the store")
    return breaches


def test_architecture_every_import_respects_the_layers():
    assert layering_breaches(package_imports()) == []


def store_transactions(root: Path = PACKAGE) -> list[str]:
    """Where a face opens a transaction on the store itself (``store.read()``/``write()``)."""
    found = []
    for face in sorted(FACES):
        for path in sorted((root / face).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in ("read", "write")
                        and "store" in ast.unparse(node.func.value)):
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_architecture_the_faces_never_query_the_store():
    assert store_transactions() == []


def test_architecture_every_wing_says_what_it_owns():
    for folder in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()):
        assert ast.get_docstring(ast.parse((folder / "__init__.py").read_text())), folder.name


def test_architecture_check_catches_a_face_on_the_store_and_an_upward_import(tmp_path):
    (tmp_path / "viewer").mkdir()
    (tmp_path / "viewer" / "pages.py").write_text(
        "from ..store.database import Store\n"
        "def page(store):\n    with store.read() as conn:\n        return conn\n")
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "database.py").write_text(
        "from ..review import decisions\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..project import Project\n")
    breaches = layering_breaches(package_imports(tmp_path))
    assert breaches == [
        "reltext.store.database (line 1) imports reltext.review: review sits above store",
        "reltext.viewer.pages (line 1) imports reltext.store.database: the faces sit on the "
        "Project API, not the store"]
    assert store_transactions(tmp_path) == ["viewer/pages.py:3"]
