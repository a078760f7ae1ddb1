"""The package's shape, checked: no import cycles, layers that import only downwards,
small classes, and a docstring saying what each module owns."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "lockclock"
MAX_CLASS_LINES = 250


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str) -> set[str]:
    """Every module this one imports, at module level or inside functions, except under
    `if TYPE_CHECKING:` (never executed). Names are absolute; `from x import y` counts
    as importing x.y when that is a module."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target != name:
                    found.add(target)
                for alias in child.names:
                    if f"{target}.{alias.name}" in MODULES:
                        found.add(f"{target}.{alias.name}")
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


GRAPH = {name: {m for m in imports_of(name) if m in MODULES} for name in MODULES}
EXTERNAL = {name: imports_of(name) - set(MODULES) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            strong(v)
    return found


def test_no_import_cycles() -> None:
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _under(prefix: str) -> list[str]:
    return [m for m in MODULES if m == prefix or m.startswith(prefix + ".")]


def test_schedule_math_knows_no_redis_and_no_sentry() -> None:
    for name in _under("lockclock.scheduling"):
        inside = {m for m in GRAPH[name] if not m.startswith("lockclock.scheduling")}
        assert inside <= {"lockclock.errors"}, (name, inside)
        assert not {e.split(".")[0] for e in EXTERNAL[name]} & {"redis", "sentry_sdk"}, name


@pytest.mark.parametrize(
    ("layer", "may_not_import"),
    [
        ("lockclock.coordination", ("engine", "execution", "sentry", "ops", "runtime", "app")),
        ("lockclock.execution", ("engine", "sentry", "ops", "runtime", "app")),
        ("lockclock.engine", ("sentry", "ops", "runtime", "app")),
        ("lockclock.sentry", ("engine", "execution", "ops", "runtime", "app")),
        ("lockclock.ops", ("engine", "execution", "sentry", "runtime", "app")),
        ("lockclock.web", ("engine", "execution", "app")),
        ("lockclock.metrics", ("engine", "execution", "sentry", "runtime", "web", "app")),
    ],
)
def test_layers_import_downwards(layer: str, may_not_import: tuple[str, ...]) -> None:
    banned = tuple(f"lockclock.{b}" for b in may_not_import)
    for name in _under(layer):
        bad = {m for m in GRAPH[name] if m.startswith(banned)}
        assert not bad, (name, bad)


def test_only_the_sentry_package_and_the_process_talk_to_the_sdk() -> None:
    users = {n for n in MODULES if any(e.split(".")[0] == "sentry_sdk" for e in EXTERNAL[n])}
    allowed = {n for n in users if n.startswith(("lockclock.sentry.", "lockclock.runtime."))}
    assert users == allowed
    pure = {"lockclock.sentry", "lockclock.sentry.options", "lockclock.sentry.monitors"}
    assert not users & pure, "options and monitors must import without the SDK"


def test_every_key_name_comes_from_the_key_table() -> None:
    """Key strings are built in coordination/keys.py and nowhere else."""
    for name, path in MODULES.items():
        if name == "lockclock.coordination.keys":
            continue
        text = path.read_text()
        assert ".key(" not in text and 'f"{self.ns}:' not in text, name


def test_classes_are_small_and_modules_say_what_they_own() -> None:
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        if name != "lockclock.__main__":
            assert ast.get_docstring(tree), f"{name} has no docstring"
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                assert size <= MAX_CLASS_LINES, f"{name}.{node.name} is {size} lines"


def test_the_readme_lists_every_log_event_of_the_catalogue() -> None:
    from lockclock.logs import EVENTS

    readme = (PKG.parent / "README.md").read_text()
    rows = {line.split("`")[1] for line in readme.splitlines() if line.startswith("| `")}
    assert set(EVENTS) <= rows, set(EVENTS) - rows
