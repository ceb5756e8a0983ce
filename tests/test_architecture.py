"""The package layout keeps its promises: small modules, one-way dependencies.

``ARCHITECTURE.md`` draws the layers; this reads every module's imports and sizes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "logpager"

MAX_MODULE_LINES = 450
MAX_CLASS_LINES = 300
MAX_FUNCTION_LINES = 80

# Which parts of the package each part may import, lowest layer first. A part is a module
# path below ``logpager`` (a subpackage, or one module of it); the longest matching part
# names a module's layer. The foundation is shared by all.
FOUNDATION = {"errors", "clock", "periodic", "query", "schema", "timeutil", "settings"}
ALLOWED: dict[str, set[str]] = {
    **dict.fromkeys(FOUNDATION, FOUNDATION),
    "synthetic": FOUNDATION,
    "memory": FOUNDATION,
    "memory.allocators": FOUNDATION,
    "memory.probe": FOUNDATION,
    "cache": FOUNDATION | {"cache"},
    "search": FOUNDATION | {"search", "cache", "memory.allocators"},
    "store": FOUNDATION | {"store", "cache"},
    "sessions": FOUNDATION | {"sessions", "cache", "store"},
    "ingest": FOUNDATION
    | {"ingest", "search.datadir", "search.archive_times", "search.source_ranges"},
    "analysis": FOUNDATION | {"analysis", "cache", "search"},
    "memory.governor": FOUNDATION | {"cache", "sessions", "memory.probe", "memory.allocators"},
    "server": FOUNDATION
    | {"server", "cache", "search", "sessions", "store", "memory", "ingest", "analysis"},
    "cli": FOUNDATION
    | {"cli", "cache", "search", "sessions", "store", "memory", "ingest", "server", "analysis"},
}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(dotted: str) -> str | None:
    candidates = [name for name in ALLOWED if dotted == name or dotted.startswith(name + ".")]
    return max(candidates, key=len) if candidates else None


def _covered(target: str, allowed: set[str]) -> bool:
    return any(target == a or target.startswith(a + ".") for a in allowed)


def _imports(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(n.removeprefix("logpager.") for n in names if n.startswith("logpager."))
    return found


@pytest.mark.parametrize("path", _modules(), ids=_dotted)
def test_module_imports_only_lower_layers(path: Path) -> None:
    dotted = _dotted(path)
    if dotted in ("", "__init__"):
        return  # the package's public API re-exports from everywhere
    layer = _layer(dotted)
    assert layer is not None, f"{dotted} belongs to no layer of ALLOWED"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    wrong = sorted(t for t in _imports(tree) if not _covered(t, ALLOWED[layer] | {layer}))
    assert not wrong, f"{dotted} ({layer}) imports {wrong}"


@pytest.mark.parametrize("path", _modules(), ids=_dotted)
def test_module_class_and_function_sizes(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    lines = len(source.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name} has {lines} lines (limit {MAX_MODULE_LINES})"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            limit = MAX_CLASS_LINES
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            limit = MAX_FUNCTION_LINES
        else:
            continue
        assert node.end_lineno is not None
        size = node.end_lineno - node.lineno + 1
        assert size <= limit, f"{node.name} in {path.name} has {size} lines (limit {limit})"
