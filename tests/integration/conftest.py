"""Fixtures of the integration tests.

The database fixtures are those of the unit tests (``tests/unit/conftest.py``):
``db`` / ``engine`` / ``new_session`` parametrised over SQLite and, with
``LKK_TEST_POSTGRES_URL``, PostgreSQL; ``settings``, ``make_settings`` and
``frozen_clock``; every test in a clean environment.  Added here: a real SMTP
server on 127.0.0.1 (:mod:`tests.integration.smtp_server`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.smtp_server import SmtpServer
from tests.unit.conftest import (  # noqa: F401 - fixtures re-exported for this directory
    BACKENDS,
    POSTGRES_URL,
    FrozenClock,
    _isolated_environment,
    _postgres_schema_url,
    db,
    db_url,
    engine,
    frozen_clock,
    make_settings,
    new_session,
    settings,
)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running SMTP server that accepts everything until told otherwise."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """An SMTP server on a reserved port that is *not* listening yet (``.start()`` it)."""
    server = SmtpServer()
    yield server
    server.stop()
