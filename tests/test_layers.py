"""The package's layers: no import cycle in meso/; templates fed by views, not by queries."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import create_clinic, create_staff, enrol_patient, open_invite, sign_in

from meso.extensions import db

PACKAGE = Path(__file__).resolve().parent.parent / "meso"


def module_names(root: Path) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    names = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _runs(node: ast.AST) -> bool:
    """False for `if TYPE_CHECKING:` blocks: their imports never run."""
    test = getattr(node, "test", None)
    return not (isinstance(node, ast.If) and isinstance(test, ast.Name)
                and test.id == "TYPE_CHECKING")


def imports_of(tree: ast.AST):
    """Yield every import that runs, at module level or inside functions (late imports too)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif _runs(node):
            yield from imports_of(node)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Map each module to the package's modules it imports.

    `from meso import courses` is an import of meso.courses; `from meso.models import Patient`
    of meso.models. A package importing its own modules (meso.staff registering its route
    modules, the factory importing what it wires up) is containment, not a layer above: those
    edges are left out, while a module importing its package is kept.
    """
    names = module_names(root)
    graph = {}
    for name, path in names.items():
        targets = set()
        for node in imports_of(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name in names}
                continue
            base = node.module or ""
            if node.level:  # relative: from . import x, from .y import z
                package = name if path.name == "__init__.py" else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}".rstrip(".")
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in names else base)
        graph[name] = {t for t in targets if t in names and not t.startswith(name + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle as [a, b, ..., a], or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_meso_has_no_import_cycle():
    graph = import_graph(PACKAGE)
    assert "meso.outbox" in graph["meso.courses"]  # a late import counts as much as any
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_finds_late_imports_and_names_the_cycle(tmp_path):
    package = tmp_path / "meso"
    (package / "staff").mkdir(parents=True)
    (package / "__init__.py").write_text("from meso.config import load\n")
    (package / "config.py").write_text("load = 1\n")
    (package / "courses.py").write_text("def change():\n    from meso import outbox\n")
    (package / "outbox.py").write_text("from meso.courses import change\n")
    (package / "staff" / "__init__.py").write_text("bp = 1\nfrom meso.staff import views\n")
    (package / "staff" / "views.py").write_text(
        "from typing import TYPE_CHECKING\nfrom meso.staff import bp\n"
        "if TYPE_CHECKING:\n    from meso import outbox\n")
    graph = import_graph(package)
    assert graph["meso.staff"] == set() and graph["meso.staff.views"] == {"meso.staff"}
    assert find_cycle(graph) == ["meso.courses", "meso.outbox", "meso.courses"]
    (package / "courses.py").write_text("def change():\n    pass\n")
    assert find_cycle(import_graph(package)) is None


def _ours(value) -> bool:
    return callable(value) and getattr(value, "__module__", "").startswith("meso")


@pytest.fixture
def helper_queries(app):
    """Collect the SQL run inside the app's own template helpers: its globals, filters and
    context processors (and the functions those hand to templates)."""
    inside, seen = [], []

    def watched(name, function):
        def wrapper(*args, **kwargs):
            inside.append(name)
            try:
                result = function(*args, **kwargs)
            finally:
                inside.pop()
            if isinstance(result, dict):  # a context processor's values
                result = {k: watched(k, v) if _ours(v) else v for k, v in result.items()}
            return result
        return wrapper

    env = app.jinja_env
    for table in (env.globals, env.filters):
        for name, value in list(table.items()):
            if _ours(value):
                table[name] = watched(name, value)
    for processors in app.template_context_processors.values():
        processors[:] = [watched(getattr(f, "__name__", "processor"), f) for f in processors]

    def executed(conn, cursor, statement, parameters, context, executemany):
        if inside:
            seen.append((inside[-1], statement))

    sa.event.listen(db.engine, "before_cursor_execute", executed)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", executed)


@pytest.mark.parametrize("page", ["/today", "/timeline", "/reminders", "/checkins/new"])
def test_patient_pages_get_their_data_from_the_view(app, helper_queries, page):
    """No template global, filter or context processor of the app queries the database."""
    clinic = create_clinic()
    _, token = enrol_patient(clinic, first_session=datetime.now(UTC) - timedelta(hours=3))
    db.session.commit()
    phone = app.test_client()
    assert open_invite(phone, token).status_code == 303
    response = phone.get(page)
    assert response.status_code == 200
    assert 'class="card' in response.get_data(as_text=True)
    assert helper_queries == []


@pytest.mark.parametrize("page", ["/staff/", "/staff/patients/{id}", "/staff/patients/{id}/invite",
                                  "/staff/team", "/staff/settings", "/staff/audit"])
def test_staff_pages_get_their_data_from_the_view(app, helper_queries, page):
    clinic = create_clinic()
    patient, _ = enrol_patient(clinic, first_session=datetime.now(UTC) - timedelta(hours=3))
    create_staff(clinic, role="admin")
    desk = app.test_client()
    assert sign_in(desk).status_code == 303
    response = desk.get(page.format(id=patient.id))
    assert response.status_code == 200
    assert "Maria" in response.get_data(as_text=True) or page in ("/staff/team",
                                                                  "/staff/settings")
    assert helper_queries == []
