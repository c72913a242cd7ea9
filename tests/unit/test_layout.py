"""The package map of docs/ARCHITECTURE.md, kept true: which package may import which.

Every import is counted, at module level or inside a function, because a function-level import
is still a dependency (and the usual way a cycle hides).
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def _imports(package: Path) -> dict[str, set[str]]:
    """module path -> the app.* modules it imports."""
    found: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names if a.name.startswith("app."))
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app"):
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
        found[str(path.relative_to(APP.parent))] = names
    return found


def _offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {name}"
        for module, names in _imports(APP / package).items()
        for name in names
        if name.startswith(forbidden)
    )


DOMAINS = tuple(
    f"app.{p.name}" for p in APP.iterdir() if p.is_dir() and (p / "__init__.py").exists() and p.name != "core"
)


def test_the_core_imports_no_domain():
    # app.settings is configuration, not a domain; app.wiring is what hands the core its hooks.
    assert _offenders("core", tuple(d + "." for d in DOMAINS) + DOMAINS + ("app.wiring",)) == []


def test_leads_stand_below_students_tickets_and_the_workbench():
    assert _offenders("leads", ("app.students", "app.tickets", "app.workbench")) == []


def test_nothing_but_the_wiring_imports_the_workbench():
    importers = [
        f"{module} imports {name}"
        for package in APP.iterdir()
        if package.is_dir() and package.name != "workbench"
        for module, names in _imports(package).items()
        for name in names
        if name.startswith("app.workbench")
    ]
    assert importers == []


def test_no_flat_route_files_remain():
    # Each package lists its handlers once, in routes.py (HANDLERS); no routes_<area>.py beside it.
    assert sorted(str(p.relative_to(APP)) for p in APP.rglob("routes_*.py")) == []
