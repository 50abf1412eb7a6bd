"""The domain packages (core, auth, mail, jobs, billing) are plain Python: no Reflex, usable from
the CLI, workers and tests."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = [ROOT / "lkk_app" / name for name in ("core", "auth", "mail", "jobs")]
BILLING = ROOT / "lkk_app" / "billing"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_module_in_domain_packages_imports_reflex():
    files = sorted(f for d in DOMAIN for f in d.rglob("*.py"))
    assert len(files) >= 20
    offenders = {
        f.name: sorted(m for m in imported_modules(f) if m == "reflex" or m.startswith("reflex."))
        for f in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_module_in_billing_imports_reflex():
    files = sorted(BILLING.rglob("*.py"))
    assert len(files) >= 8
    offenders = {
        str(f.relative_to(BILLING)): sorted(
            m for m in imported_modules(f) if m == "reflex" or m.startswith("reflex.")
        )
        for f in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_domain_packages_and_cli_import_without_loading_reflex():
    code = (
        "import sys, importlib, pkgutil\n"
        "for p in ('core', 'auth', 'mail', 'jobs'):\n"
        "    s = importlib.import_module('lkk_app.' + p)\n"
        "    for m in pkgutil.walk_packages(s.__path__, s.__name__ + '.'): importlib.import_module(m.name)\n"
        "import lkk_app.billing as b\n"
        "for m in pkgutil.walk_packages(b.__path__, 'lkk_app.billing.'): importlib.import_module(m.name)\n"
        "import lkk_app.cli\n"
        "print(sorted(n for n in sys.modules if n == 'reflex' or n.startswith('reflex.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
