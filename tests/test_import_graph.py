"""The import graph of app/: no cycle between modules, none between its folders, pure packages kept
pure, the kit below every domain.

The graph is read from the source with ast, counting every import: at the top of a module, inside
a function (where a cycle hides until the function runs) and under TYPE_CHECKING. A node of the
folder graph is a folder under app/ (app/cases, app/kit, ...) or a module at app/'s top level
(app/main.py, app/cli.py, app/models.py).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
MIGRATIONS = APP.parent / "migrations" / "versions"

# No database, web, network or process-environment code in the pure parts (CONTRIBUTING.md).
PURE = ("app.conversation", "app.gazetteer", "app.dispatch.decide")
PURE_MAY_IMPORT = ("app.conversation", "app.gazetteer", "app.dispatch.decide", "app.dispatch.rules")
IMPURE_LIBRARIES = ("sqlalchemy", "alembic", "psycopg", "fastapi", "starlette", "uvicorn", "httpx",
                    "twilio", "jinja2", "socket", "http", "urllib.request", "threading", "os")

Graph = dict[str, dict[str, int]]  # module -> {imported module: line of the first such import}


def module_names(root: Path = APP) -> dict[str, Path]:
    names = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported_names(path: Path, module: str) -> list[tuple[str, int]]:
    """Every name an import statement in the file reaches, absolute, with its line."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from app.kit import db` imports the module app.kit.db; `from app.kit.db import x`
            # imports app.kit.db (x is no module): both resolve below to the longest module.
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
            found.append((base, node.lineno))
    return found


def import_graph(root: Path = APP) -> Graph:
    modules = module_names(root)
    graph: Graph = {name: {} for name in modules}
    for name, path in modules.items():
        for target, line in imported_names(path, name):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                graph[name].setdefault(target, line)
    return graph


def folder_of(module: str) -> str:
    """app.inbox.reader -> app.cases; app.main -> app.main (a top-level module is its own)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def folder_graph(graph: Graph) -> Graph:
    folders: Graph = defaultdict(dict)
    for module, targets in graph.items():
        for target, line in targets.items():
            a, b = folder_of(module), folder_of(target)
            if a != b:
                folders[a].setdefault(b, line)
    return dict(folders)


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle, as [a, b, ..., a], or None: a depth-first search without recursion."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph.get(start, ())))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def describe(cycle: list[str], graph: Graph) -> str:
    steps = [f"{a} (line {graph[a][b]})" for a, b in pairwise(cycle)]
    return " -> ".join([*steps, cycle[-1]])


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    pkg = tmp_path / "app"
    (pkg / "one").mkdir(parents=True)
    (pkg / "two").mkdir()
    for folder in (pkg, pkg / "one", pkg / "two"):
        (folder / "__init__.py").write_text("")
    (pkg / "one" / "a.py").write_text("from app.two import b\n")
    (pkg / "two" / "b.py").write_text("def f():\n    from .c import g\n")
    (pkg / "two" / "c.py").write_text("from app.one.a import x\n")
    (pkg / "two" / "d.py").write_text("from app.one import a\n")
    graph = import_graph(pkg)
    assert find_cycle(graph) == ["app.one.a", "app.two.b", "app.two.c", "app.one.a"]
    assert find_cycle(folder_graph(graph)) == ["app.one", "app.two", "app.one"]
    (pkg / "two" / "c.py").write_text("x = 1\n")
    graph = import_graph(pkg)
    assert find_cycle(graph) is None  # no module cycle left, but the folders still tangle (d.py)
    assert find_cycle(folder_graph(graph)) == ["app.one", "app.two", "app.one"]
    (pkg / "two" / "d.py").unlink()
    assert find_cycle(folder_graph(import_graph(pkg))) is None


def test_no_import_cycle_between_modules() -> None:
    graph = import_graph()
    assert len(graph) > 100  # the whole of app/ was read
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + describe(cycle, graph)


def test_no_import_cycle_between_folders() -> None:
    folders = folder_graph(import_graph())
    named = set(folders) | {b for targets in folders.values() for b in targets}
    assert {"app.kit", "app.cases", "app.sms", "app.live", "app.inbox", "app.main"} <= named
    cycle = find_cycle(folders)
    assert cycle is None, "import cycle between folders: " + describe(cycle, folders)


def test_the_kit_imports_no_domain() -> None:
    outside = {f"{module} -> {target} (line {line})"
               for module, targets in import_graph().items() if module.startswith("app.kit")
               for target, line in targets.items() if not target.startswith("app.kit")}
    assert not outside


def test_only_the_entry_points_import_app_cli_and_the_startup() -> None:
    importers = {module: sorted(t for t in targets if t == "app.cli" or t.startswith("app.startup"))
                 for module, targets in import_graph().items()
                 if not module.startswith("app.startup")}
    assert {m: t for m, t in importers.items() if t} == {
        "app.__main__": ["app.cli"], "app.cli": ["app.startup.banner", "app.startup.bootstrap"],
        "app.main": ["app.startup.bootstrap"]}


def test_pure_packages_import_no_database_or_web_code() -> None:
    modules = module_names()
    bad = []
    for name, path in modules.items():
        if not name.startswith(PURE):
            continue
        for target, line in imported_names(path, name):
            if target.startswith("app.") and not target.startswith(PURE_MAY_IMPORT):
                bad.append(f"{name}:{line} imports {target}")
            if target.split(".")[0] in IMPURE_LIBRARIES or target.startswith(IMPURE_LIBRARIES):
                bad.append(f"{name}:{line} imports {target}")
    assert any(n.startswith("app.dispatch.decide") for n in modules)
    assert not bad


def test_migrations_never_import_app() -> None:
    revisions = sorted(MIGRATIONS.glob("*.py"))
    assert revisions
    bad = [f"{path.name}:{line} imports {target}" for path in revisions
           for target, line in imported_names(path, "migrations.versions." + path.stem)
           if target == "app" or target.startswith("app.")]
    assert not bad


def test_the_edge_guards_leave_exactly_the_twilio_webhooks_alone() -> None:
    # The kit writes the two paths out (it imports no domain): they must be the routes' own.
    from app.kit.request_limits import EXEMPT_PATHS
    from app.sms.providers import STATUS_PATH
    from app.sms.signed_form import INBOUND_PATH

    assert frozenset({INBOUND_PATH, STATUS_PATH}) == EXEMPT_PATHS
