"""Shared test setup: make the repository importable however pytest is started,
and load the fixtures every tier shares (``tests/fixtures/``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest_plugins = [
    "tests.fixtures.environment",
    "tests.fixtures.clock",
    "tests.fixtures.database",
    "tests.fixtures.users",
    "tests.fixtures.mail",
    "tests.fixtures.servers",
    "tests.fixtures.billing_world",
]
