"""Fixtures of the unit tests.

* Every test runs with a clean environment: none of the variables that
  ``lkk_app/settings.py`` reads comes from the outside, ``LKK_DATA_DIR`` is a
  temporary directory (so nothing is written into the repository's ``var/``),
  and the cached settings and engine are reset.
* ``db`` is an SQLModel session on a fresh database, parametrised over SQLite
  (a temporary file per test) and, when ``LKK_TEST_POSTGRES_URL`` is set,
  PostgreSQL (one schema per test run, dropped at the end; tables emptied
  before each test).
* ``settings`` uses bcrypt cost 4 for speed; tests about cost build their own.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from lkk_app import db as db_module
from lkk_app import settings as settings_module
from lkk_app import models  # noqa: F401 - registers the tables
from lkk_app.core import clock
from lkk_app.settings import Settings, get_settings, load_settings, reload_settings

POSTGRES_URL = os.environ.get("LKK_TEST_POSTGRES_URL", "").strip()
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])

# Every variable lkk_app/settings.py reads (found in its source, so a new
# setting is covered without editing this file).  Other LKK_* variables, such
# as LKK_TEST_POSTGRES_URL, are left alone.
SETTINGS_VARIABLES = sorted(
    set(re.findall(r"\b(?:LKK|REFLEX)_[A-Z0-9_]+\b", Path(settings_module.__file__).read_text()))
)

TEST_SECRET = "unit-test-secret-key-0123456789-abcdefghij"


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory, monkeypatch) -> Iterator[None]:
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path_factory.mktemp("lkk-data")
    monkeypatch.setenv("LKK_DATA_DIR", str(data_dir))
    db_module.reset_engine()
    reload_settings()
    yield
    monkeypatch.undo()
    db_module.reset_engine()
    # Only forget the cache: loading settings again here, with the outer
    # environment, could create var/secret_key inside the repository.
    get_settings.cache_clear()


@pytest.fixture
def make_settings(tmp_path):
    """``make_settings(**overrides)``: development settings with a fixed secret key."""

    def factory(**overrides) -> Settings:
        base = load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_SECRET_KEY": TEST_SECRET})
        return dataclasses.replace(base, **overrides)

    return factory


@pytest.fixture
def settings(make_settings) -> Settings:
    """Development settings with a fixed secret and bcrypt cost 4 (fast)."""
    return make_settings(bcrypt_cost=4)


# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def _postgres_schema_url() -> Iterator[str]:
    """A private schema for this test run; its URL sets ``search_path`` to it."""
    schema = f"lkk_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    engine = db_module.make_engine(url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """URL of an empty, migrated database (tables created with ``metadata.create_all``)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'unit.db'}"
        engine = db_module.make_engine(url)
        SQLModel.metadata.create_all(engine)
        engine.dispose()
        yield url
        return
    url = request.getfixturevalue("_postgres_schema_url")
    engine = db_module.make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


@pytest.fixture
def engine(db_url) -> Iterator[sa.Engine]:
    engine = db_module.make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine) -> Iterator[Session]:
    """A session like ``db.session_scope`` gives; the test commits when it wants to."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()


@pytest.fixture
def new_session(engine):
    """Open further, independent sessions on the same database (closed at the end)."""
    opened: list[Session] = []

    def factory() -> Session:
        session = Session(engine, expire_on_commit=False)
        opened.append(session)
        return session

    yield factory
    for session in opened:
        session.close()


# --------------------------------------------------------------------------- time


class FrozenClock:
    """Controls ``lkk_app.core.clock.utcnow`` for a test."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now = self.now + timedelta(**kwargs)
        return self.now


@pytest.fixture
def frozen_clock(monkeypatch) -> FrozenClock:
    fake = FrozenClock(datetime(2026, 3, 1, 9, 0, 0))
    monkeypatch.setattr(clock, "utcnow", fake)
    return fake


@pytest.fixture(autouse=True)
def roomy_cpu_pools(request, monkeypatch):
    """The CPU pools (``lkk_app/cpu_pools.py``) without their bounds, for tests
    of other limits that send more work at once than the pools take (their own
    bounds are tested in ``test_cpu_pools.py``, which keeps them).  The pools
    are per process and the captcha pool's rate is 5 images a second, so tests
    that draw codes one after another would otherwise depend on their speed."""
    from lkk_app import cpu_pools
    from lkk_app.auth import captcha_limits

    # The per-tab count of new codes is kept in memory too: each test starts afresh.
    captcha_limits.connections.clear()
    if request.module.__name__.endswith("test_cpu_pools"):
        return
    for pool in (cpu_pools.PASSWORDS, cpu_pools.CAPTCHA):
        monkeypatch.setattr(pool, "waiting", 1000)
        monkeypatch.setattr(pool, "per_second", None)
