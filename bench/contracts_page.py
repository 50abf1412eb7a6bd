"""Benchmark of «Договоры» for a large customer, through the real server.

Starts a production-mode server (fresh SQLite database), adds «ООО «Большая
сеть-Демо»» (300 contracts, 5 000 points) to its demo billing, syncs the read
copy, binds all 300 contracts to one user and then, over a raw websocket the
way the browser talks to the server, measures:

- the page load of /contracts (``hydrate`` + ``on_load``: the session, the
  first page of 50, «Данные на»): server round trip and state payload;
- «Далее» (the next page of 50): round trip and payload.

    .venv/bin/python bench/contracts_page.py [--samples N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.appserver import running_app, using_server_database  # noqa: E402
from tests.attack.reflex_client import LoopThread, ReflexClient  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))]


def prepare(contracts: int, points: int) -> str:
    """The large customer in the server's billing and copy, bound to a new user; its session cookie."""
    from sqlmodel import Session

    from lkk_app.auth import sessions, users
    from lkk_app.billing import binding, sync
    from lkk_app.billing.adapters import demo_data
    from lkk_app.billing.adapters.demo import DemoBilling
    from lkk_app.db import get_engine, session_scope
    from lkk_app.settings import get_settings

    engine = get_engine()
    with Session(engine) as db:
        demo_data.seed_large_customer(db, date.today(), contracts=contracts, points=points)
        db.commit()
    gateway = DemoBilling(engine, supplier="ГП Демо-Энергосбыт")
    started = time.perf_counter()
    result = asyncio.run(sync.sync_all(engine, gateway))
    print(f"sync: {result.received} records in {time.perf_counter() - started:.2f} s")
    with session_scope() as db:
        user = users.create_user(db, login="bigcustomer", email="big@example.org",
                                 password="Проверка-пароля-42", confirmed=True)
        binding.bind(db, user_id=user.id, organisation_key=demo_data.LARGE_ORGANISATION,
                     contract_keys=[f"ctr-L{n:04d}" for n in range(contracts)])
        token = sessions.mint_session(db, user_id=user.id, ip="127.0.0.1", user_agent="bench")
    return f"{get_settings().session_cookie_name}={token}"


def size(updates: list[dict]) -> int:
    return sum(len(json.dumps(u, ensure_ascii=False).encode()) for u in updates)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--contracts", type=int, default=300)
    parser.add_argument("--points", type=int, default=5000)
    args = parser.parse_args()
    from lkk_app.state.contracts import ContractsState

    with tempfile.TemporaryDirectory() as folder, running_app(Path(folder)) as server:
        with using_server_database(server):
            cookie = prepare(args.contracts, args.points)
        loop = LoopThread()
        loads, load_bytes, pages, page_bytes = [], [], [], []
        try:
            for _ in range(args.samples):
                client = ReflexClient(loop, server.url, origin=server.url, cookie=cookie).connect()
                start = time.perf_counter()
                got = client.hydrate("/contracts")
                loads.append(time.perf_counter() - start)
                load_bytes.append(size(got))
                assert "Д-9001" in client.text(got), "the first page did not arrive"
                start = time.perf_counter()
                more = client.call(f"{ContractsState.get_full_name()}.show_page", {"offset": 50}, path="/contracts")
                pages.append(time.perf_counter() - start)
                page_bytes.append(size(more))
                client.close()
        finally:
            loop.close()
    print(f"/contracts load: median {statistics.median(loads) * 1000:.0f} ms, "
          f"p95 {pct(loads, 0.95) * 1000:.0f} ms; payload {max(load_bytes) / 1024:.1f} KiB (n={len(loads)})")
    print(f"next page of 50: median {statistics.median(pages) * 1000:.0f} ms, "
          f"p95 {pct(pages, 0.95) * 1000:.0f} ms; payload {max(page_bytes) / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
