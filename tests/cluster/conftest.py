"""The shape a supplier runs: several server workers on PostgreSQL and Redis.

* ``cluster_db``: a PostgreSQL database of its own (made on the server of
  ``LKK_TEST_POSTGRES_URL``, default the loopback one), dropped at the end;
* ``cluster_redis``: a Redis database of its own (``LKK_TEST_REDIS_URL``,
  default ``redis://127.0.0.1:6379/13``), emptied before and after;
* ``app_server``: the production build served by two workers
  (``LKK_WORKERS=2``) with the Redis state manager, a real SMTP server
  (``mailbox``) and the demo billing.

Both services run on every machine of this project's kind and in CI; when one
is missing these tests fail and say which.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.appserver import AppServer, running_app
from tests.browser.conftest import CAPTCHA_CODE

POSTGRES_URL = os.environ.get("LKK_TEST_POSTGRES_URL", "").strip() \
    or "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
REDIS_URL = os.environ.get("LKK_TEST_REDIS_URL", "").strip() or "redis://127.0.0.1:6379/13"


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (its URL), dropped at the end."""
    name = "lkk_cluster_" + secrets.token_hex(4)
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is needed for the cluster tier: {exc}")
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def cluster_db() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def cluster_redis() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is needed for the cluster tier: {exc}")
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, mailbox, cluster_db, cluster_redis) -> Iterator[AppServer]:
    data_dir = tmp_path_factory.mktemp("lkk-cluster")
    with running_app(data_dir, REFLEX_DB_URL=cluster_db, REFLEX_REDIS_URL=cluster_redis,
                     LKK_WORKERS="2", LKK_SMTP_HOST="127.0.0.1", LKK_SMTP_PORT=str(mailbox.port),
                     LKK_SMTP_TLS="none", LKK_CAPTCHA_FIXED_CODE=CAPTCHA_CODE,
                     LKK_RATE_EXEMPT_IPS="127.0.0.1", LKK_READINGS_WINDOW="1-31") as server:
        yield server


# The browser tier's user maker and pages, on this tier's server.
from tests.browser.conftest import context, mailbox, make_user, page  # noqa: E402,F401
