"""Database engine and sessions for services, the CLI and tests.

The engine is created lazily (never at import time: the production server
imports the app before it forks workers).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, create_engine

from lkk_app.settings import get_settings

T = TypeVar("T")


# How long an SQLite statement waits for another connection's write lock
# before it fails with "database is locked".
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def make_engine(url: str) -> sa.Engine:
    kwargs: dict = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
            cur.close()

    return engine


@functools.lru_cache(maxsize=1)
def get_engine() -> sa.Engine:
    return make_engine(get_settings().db_url)


def reset_engine() -> None:
    """Dispose of the cached engine (tests switch databases)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


@contextlib.contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def run_in_transaction(fn: Callable[[Session], T], engine: sa.Engine | None = None) -> T:
    """``fn(session)`` in one transaction (committed on success) on ``engine``
    (the application's by default); call it in a worker thread."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            result = fn(session)
            session.commit()
            return result
        except BaseException:
            session.rollback()
            raise


async def in_transaction(fn: Callable[[Session], T], engine: sa.Engine | None = None) -> T:
    """:func:`run_in_transaction` in a worker thread: the event loop never waits on the database."""
    return await asyncio.to_thread(run_in_transaction, fn, engine)


def upserts(session: Session) -> bool:
    """Whether the session's dialect has ``INSERT … ON CONFLICT`` (:func:`dialect_insert`)."""
    return session.get_bind().dialect.name in ("postgresql", "sqlite")


def dialect_insert(session: Session, table: sa.Table | type[SQLModel]) -> Any:
    """``INSERT`` for ``table`` (or a table class, for ORM ``RETURNING``) in the session's
    dialect, with ``on_conflict_do_nothing`` / ``on_conflict_do_update`` (PostgreSQL and
    SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def rowcount(result: sa.Result[Any]) -> int:
    """How many rows an ``UPDATE`` or ``DELETE`` matched (``CursorResult.rowcount``, typed)."""
    if not isinstance(result, sa.CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result).__name__}")
    return int(result.rowcount or 0)


def update_rows(session: Session, model: type[SQLModel], values: dict[str, Any], *where: Any) -> int:
    """``UPDATE`` the rows of ``model`` where every condition of ``where`` holds, setting
    ``values``, without touching the objects the session holds; how many rows matched."""
    return rowcount(session.execute(sa.update(model).where(*where).values(**values)
                                    .execution_options(synchronize_session=False)))


def delete_rows(session: Session, model: type[SQLModel], *where: Any) -> int:
    """``DELETE`` the rows of ``model`` where every condition of ``where`` holds, without
    touching the objects the session holds; how many rows went."""
    return rowcount(session.execute(sa.delete(model).where(*where)
                                    .execution_options(synchronize_session=False)))


def table_of(model: type[SQLModel]) -> sa.Table:
    """The ``Table`` of an SQLModel table class (``Model.__table__``, typed)."""
    return model.metadata.tables[str(model.__tablename__)]
