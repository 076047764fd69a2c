"""routing/ is pure: the standard library and its own modules only (DESIGN.md, STYLE.md)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROUTING = Path(__file__).resolve().parents[2] / "routing"
# Standard-library modules that do I/O, run concurrency or read the clock: forbidden too.
FORBIDDEN_STDLIB = {
    "asyncio",
    "socket",
    "ssl",
    "select",
    "selectors",
    "threading",
    "multiprocessing",
    "subprocess",
    "os",
    "io",
    "pathlib",
    "shutil",
    "time",
    "logging",
    "sqlite3",
    "urllib",
    "http",
    "zoneinfo",
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: our own package
                continue
            roots.add((node.module or "").split(".")[0])
    return roots


def test_routing_imports_only_the_standard_library_and_itself() -> None:
    offenders = {}
    for path in sorted(ROUTING.glob("*.py")):
        bad = {
            root
            for root in imported_roots(path)
            if root != "routing" and (root not in sys.stdlib_module_names or root in FORBIDDEN_STDLIB)
        }
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}


def test_the_import_guard_catches_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import asyncio\nfrom sqlmodel import Field\nfrom . import x\n", encoding="utf-8")
    assert imported_roots(sample) == {"asyncio", "sqlmodel"}
