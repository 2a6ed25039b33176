"""The engine's shape: one-way imports inside sync/, no platform knowledge outside connectors."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from connectors.base import connector_class, installed

ROOT = Path(__file__).resolve().parents[2]
NEUTRAL = ("sync", "mapping", "store")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The sync modules `path` imports, at any depth (function-level imports count too)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            candidates = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(c for c in candidates if c in known and c != name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in (ROOT / "sync").rglob("*.py")}
    known = set(files)
    return {name: imported_modules(path, known) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_import_graph_of_sync_has_no_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 40 and "sync.stock.ledger" in graph  # the walk really saw the engine
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_ledger_and_desired_quantities_sit_below_what_moves_stock() -> None:
    graph = import_graph()
    for low in ("sync.stock.ledger", "sync.stock.desired", "sync.stock.change", "sync.hub.queues"):
        above = {m for m in graph[low] if not m.startswith(("sync.hub", "sync.stock", "sync.planning.safety"))}
        assert not above, f"{low} imports {sorted(above)}"
    assert not any("sync.jobs" in targets for name, targets in graph.items() if name != "sync.jobs")


def source_files() -> list[Path]:
    return [p for folder in NEUTRAL for p in (ROOT / folder).rglob("*.py")]


def platform_names() -> set[str]:
    names = set(installed())
    return names | {connector_class(name).platform for name in names}


def test_no_platform_name_in_the_platform_neutral_packages() -> None:
    names = platform_names()
    assert {"shopify", "woocommerce"} <= names
    pattern = re.compile(r"(?<![a-z0-9])(" + "|".join(sorted(map(re.escape, names))) + r")(?![a-z0-9])",
                         re.IGNORECASE)
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in source_files()
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if pattern.search(line)]
    assert found == []


def test_no_hub_global_outside_the_job_entry_points() -> None:
    """Only `sync.jobs` reaches for the process's hub; `sync.hub.current` holds it (so the CLI can set
    it without importing every job) and nothing else under sync/ imports that holder."""
    entry, holder = ROOT / "sync" / "jobs.py", ROOT / "sync" / "hub" / "current.py"
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "sync").rglob("*.py") if p not in (entry, holder)
                 if re.search(r"\bcurrent_hub\b|\bsession\.info\b|listens_for\(Session|sync\.hub\.current",
                              p.read_text("utf-8"))]
    assert offenders == []
