"""The tree tells the architecture: no module imports a layer above its own (see xlmforge/__init__.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "xlmforge"

#: Each layer and the layers it may import besides itself. Imports inside functions count too.
ALLOWED: dict[str, set[str]] = {
    "schemas": set(),
    "core": set(),
    "pipelines.common": {"core", "schemas"},
    "pipelines.corpus": {"pipelines.common", "core", "schemas"},
    "pipelines.bitext": {"pipelines.corpus", "pipelines.common", "core", "schemas"},
    "pipelines.shards": {"pipelines.common", "core", "schemas"},
    "pipelines.jobs": {"pipelines.corpus", "pipelines.bitext", "pipelines.shards", "pipelines.common", "core",
                       "schemas"},  # fmt: skip
    "training": {"core", "schemas"},
    "flows": {"pipelines.jobs", "pipelines.corpus", "pipelines.bitext", "pipelines.shards", "pipelines.common",
              "training", "core", "schemas"},  # fmt: skip
    "cli": {"flows", "pipelines.jobs", "pipelines.corpus", "pipelines.bitext", "pipelines.shards", "pipelines.common",
            "training", "core", "schemas"},  # fmt: skip
}


def layer_of(module: str) -> str | None:
    """The layer of a dotted module name under xlmforge ("xlmforge.pipelines.corpus.read" -> "pipelines.corpus")."""
    parts = module.split(".")
    if parts[0] != "xlmforge" or len(parts) < 2:
        return None
    two = ".".join(parts[1:3])
    return two if two in ALLOWED else parts[1] if parts[1] in ALLOWED else None


def imported_modules(source: str) -> set[str]:
    """Every absolute module an (import or from-import) statement anywhere in `source` names."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # module.name: `from xlmforge.pipelines import corpus` imports the subpackage
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def forbidden_imports(module: str, source: str) -> list[str]:
    """The imports of `module` that reach a layer it may not import."""
    own = layer_of(module)
    allowed = ALLOWED[own] | {own}
    return sorted(
        name for name in imported_modules(source)
        if (target := layer_of(name)) is not None and target not in allowed
    )  # fmt: skip


#: Packages that only hold layers: their __init__ is a docstring.
CONTAINERS = ("xlmforge", "xlmforge.pipelines")


def package_modules() -> list[tuple[str, Path]]:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(p for p in parts if p != "__init__")
        if module not in CONTAINERS:
            modules.append((module, path))
    return modules


def test_every_module_belongs_to_a_layer():
    unplaced = [m for m, _ in package_modules() if layer_of(m) is None]
    assert not unplaced, f"modules outside every layer (add them to ALLOWED): {unplaced}"
    assert all(not imported_modules((PACKAGE.parent / m.replace(".", "/") / "__init__.py").read_text())
               for m in CONTAINERS)  # fmt: skip


@pytest.mark.parametrize(("module", "path"), package_modules(), ids=[m for m, _ in package_modules()])
def test_no_import_runs_up_a_layer(module: str, path: Path):
    assert forbidden_imports(module, path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("xlmforge.training.loop", "from xlmforge.pipelines.shards.vocab import train_vocab"),
        ("xlmforge.pipelines.corpus.read", "def f():\n    from xlmforge.pipelines.bitext import sentences"),
        ("xlmforge.pipelines.shards.scan", "import xlmforge.pipelines.corpus.config"),
        ("xlmforge.core.storage", "from xlmforge.flows import caching"),
        ("xlmforge.flows.corpus", "from xlmforge.cli.console import fail"),
    ],
)
def test_an_upward_import_is_caught(module: str, source: str):
    assert forbidden_imports(module, source)
