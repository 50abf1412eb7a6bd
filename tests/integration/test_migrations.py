"""A fresh database migrated to head matches the models (no pending autogenerate)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import lkk_app.models  # noqa: F401
from tests.fixtures.database import migrate

ROOT = Path(__file__).resolve().parents[2]
REFLEX = str(Path(sys.executable).parent / "reflex")


def _migrate(url: str, data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LKK_", "REFLEX_"))}
    env.update(REFLEX_DB_URL=url, LKK_DATA_DIR=str(data_dir), REFLEX_USE_NPM="1",
               PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    subprocess.run([REFLEX, "db", "migrate"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)


def _diff(url: str) -> list:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, SQLModel.metadata)
    finally:
        engine.dispose()


def _postgres_database():
    base = os.environ.get("LKK_TEST_POSTGRES_URL")
    if not base:
        return None
    return sa.engine.make_url(base)


BACKENDS = ["sqlite"] + (["postgres"] if _postgres_database() else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_match_models(backend, tmp_path):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
        _migrate(url, tmp_path)
        assert _diff(url) == []
        return
    admin_url = _postgres_database()
    name = f"lkk_migr_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        _migrate(url, tmp_path)
        assert _diff(url) == []
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_drift_is_detected(tmp_path, sqlite_template):
    """The check above can fail: a table the migrations do not know shows up."""
    shutil.copyfile(sqlite_template, tmp_path / "m.db")  # migrated to head (tests/fixtures/database.py)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    extra = sa.MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(extra)
    sa.Table("lkk_not_migrated", extra, sa.Column("id", sa.Integer, primary_key=True))
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), extra)
    engine.dispose()
    assert any(op[0] == "add_table" and op[1].name == "lkk_not_migrated" for op in diff)


# --------------------------------------------------------------------------- look-alike logins

SKELETON_REVISION = "5e1f0a9c3d27"


def test_login_skeleton_migration_fills_existing_rows_and_keeps_old_look_alikes(tmp_path):
    """Rows from before the column get their skeleton; of logins that already
    looked alike the oldest keeps it, the others NULL; afterwards the unique
    index refuses a new look-alike."""
    import alembic.config
    import alembic.script

    script = alembic.script.ScriptDirectory.from_config(alembic.config.Config(str(ROOT / "alembic.ini")))
    before = script.get_revision(SKELETON_REVISION).down_revision
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate(url, before)
    engine = sa.create_engine(url)
    now = "2026-01-01 00:00:00"
    rows = [("ivanov", "ivanov"), ("ivanоv", "ivanоv"), ("IVAN0V", "ivan0v"), ("сор", "сор")]
    with engine.begin() as conn:
        for login, key in rows:
            conn.execute(sa.text(
                "INSERT INTO lkk_user (login, login_key, email, email_key, password_hash, created_at, updated_at)"
                " VALUES (:l, :k, 'a@example.com', 'a@example.com', 'x', :n, :n)"), {"l": login, "k": key, "n": now})
    engine.dispose()

    migrate(url, "heads")
    assert _diff(url) == []
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            got = dict(conn.execute(sa.text("SELECT login, login_skeleton FROM lkk_user ORDER BY id")).all())
            assert got == {"ivanov": "ivanov", "ivanоv": None, "IVAN0V": None, "сор": "cop"}
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO lkk_user (login, login_key, login_skeleton, email, email_key, password_hash,"
                " created_at, updated_at) VALUES ('cop', 'cop', 'cop', 'b@example.com', 'b@example.com',"
                " 'x', :n, :n)"), {"n": now})
    finally:
        engine.dispose()
