"""Fixtures of the billing tests.

* Every test in a clean environment; the shared database fixtures (``db``,
  ``engine``: SQLite and, with ``LKK_TEST_POSTGRES_URL``, PostgreSQL) come from
  ``tests/fixtures/``.
* ``billing``: the demo billing seeded for :data:`TODAY`, reached either
  in-process (``demo``) or through the HTTP adapter and a real reference
  server on 127.0.0.1 (``http``) — the contract tests run on both.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlmodel import Session

from lkk_app.billing.adapters.demo import DemoBilling, reset
from lkk_app.billing.adapters.http import HttpBilling
from lkk_app.billing.gateway import BillingGateway
from lkk_app.billing.reference_server import prepare_database
from lkk_app.db import make_engine
from tests.appserver import free_port

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 9, 30, 0)
TOKEN = "reference-token-for-tests-0123456789"
SUPPLIER = "ГП Демо-Энергосбыт"


@pytest.fixture(autouse=True)
def _billing_test(isolated_environment):
    pass


@dataclasses.dataclass
class ReferenceServer:
    url: str
    db_url: str
    proc: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_reference_server(url: str, log_path: Path, *, token: str = TOKEN) -> ReferenceServer:
    """``python -m lkk_app.billing.reference_server`` on a free loopback port, ready."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LKK_", "REFLEX_"))}
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lkk_app.billing.reference_server", "--port", str(port),
         "--db", url, "--token", token, "--today", TODAY.isoformat(), "--supplier", SUPPLIER],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    server = ReferenceServer(f"http://127.0.0.1:{port}", url, proc, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"reference server exited:\n{log_path.read_text()[-3000:]}")
        try:
            r = httpx.get(f"{server.url}/v1/health", headers={"Authorization": f"Bearer {token}"},
                          timeout=2)
            if r.status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"reference server not ready:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def reference_server(tmp_path_factory) -> Iterator[ReferenceServer]:
    folder = tmp_path_factory.mktemp("reference-billing")
    url = f"sqlite:///{folder / 'billing.db'}"
    server = start_reference_server(url, folder / "server.log")
    yield server
    server.stop()


@dataclasses.dataclass
class Billing:
    """A billing system under test: the gateway, and billing's own database."""

    kind: str
    gateway: BillingGateway
    engine: sa.Engine
    make_down: Callable[[], BillingGateway]

    def write(self, fn: Callable[[Session], Any]) -> Any:
        """Do something "in billing" (``fn(db)``), committed."""
        with Session(self.engine, expire_on_commit=False) as s:
            result = fn(s)
            s.commit()
            return result


def _fresh(url: str) -> sa.Engine:
    prepare_database(url, TODAY)
    fresh = make_engine(url)
    with Session(fresh) as s:
        reset(s, TODAY)
        s.commit()
    return fresh


@pytest_asyncio.fixture(params=["demo", "http"])
async def billing(request, tmp_path) -> AsyncIterator[Billing]:
    if request.param == "demo":
        own = _fresh(f"sqlite:///{tmp_path / 'billing.db'}")
        gateway: BillingGateway = DemoBilling(own, supplier=SUPPLIER, clock=lambda: NOW)

        def demo_down() -> BillingGateway:
            return DemoBilling(make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}"),
                               supplier=SUPPLIER, owns_engine=True)

        yield Billing("demo", gateway, own, demo_down)
    else:
        server: ReferenceServer = request.getfixturevalue("reference_server")
        own = _fresh(server.db_url)
        gateway = HttpBilling(server.url, TOKEN)

        def http_down() -> BillingGateway:
            return HttpBilling(f"http://127.0.0.1:{free_port()}", TOKEN, retry_delays=(0.01, 0.01))

        yield Billing("http", gateway, own, http_down)
    await gateway.aclose()
    own.dispose()
