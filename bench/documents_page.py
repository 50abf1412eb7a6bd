"""Benchmark of «Документы» through the real server, for a customer with 5 000
documents of one contract.

Starts a production-mode server (fresh SQLite database, demo billing synced),
adds 5 000 documents of Д-1001 to the read copy (``bench/documents.py``), binds
«Ромашка»'s contracts to a user and then, over a raw websocket the way the
browser talks to the server, measures:

- the page load of /documents (``hydrate`` + ``on_load``: the session, the
  contract switcher, the first page of 20, «Данные на»): round trip and state payload;
- «Далее» (the next page of 20);
- «Показать» with a filter (счета-фактуры of one year).

    .venv/bin/python bench/documents_page.py [--samples N] [--documents N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.contracts_page import pct, size  # noqa: E402
from tests.appserver import running_app, using_server_database  # noqa: E402
from tests.attack.reflex_client import LoopThread, ReflexClient  # noqa: E402


def prepare(count: int) -> str:
    """The documents in the server's copy, «Ромашка» bound to a new user; its session cookie."""
    from bench.documents import add_documents
    from lkk_app.auth import sessions, users
    from lkk_app.billing import binding
    from lkk_app.db import get_engine, session_scope
    from lkk_app.settings import get_settings

    add_documents(get_engine(), count)
    with session_scope() as db:
        user = users.create_user(db, login="manydocs", email="docs@example.org",
                                 password="Проверка-пароля-42", confirmed=True)
        binding.bind(db, user_id=user.id, organisation_key="org-romashka", contract_keys=["ctr-1001", "ctr-1002"])
        token = sessions.mint_session(db, user_id=user.id, ip="127.0.0.1", user_agent="bench")
    return f"{get_settings().session_cookie_name}={token}"


def line(name: str, values: list[float], payloads: list[int]) -> None:
    print(f"{name}: median {statistics.median(values) * 1000:.0f} ms, p95 {pct(values, 0.95) * 1000:.0f} ms; "
          f"payload {max(payloads) / 1024:.1f} KiB (n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--documents", type=int, default=5000)
    args = parser.parse_args()
    from lkk_app.state.documents import DocumentsState

    name = DocumentsState.get_full_name()
    found: dict[str, tuple[list[float], list[int]]] = {"load": ([], []), "next": ([], []), "filter": ([], [])}
    with tempfile.TemporaryDirectory() as folder, running_app(Path(folder)) as server:
        time.sleep(3)  # the first sync of the demo billing
        with using_server_database(server):
            cookie = prepare(args.documents)
        loop = LoopThread()
        try:
            for _ in range(args.samples):
                client = ReflexClient(loop, server.url, origin=server.url, cookie=cookie).connect()
                for kind, act in (
                        ("load", lambda c: c.hydrate("/documents")),
                        ("next", lambda c: c.call(f"{name}.show_page", {"offset": 20}, path="/documents")),
                        ("filter", lambda c: c.call(f"{name}.apply_filter", {"form_data": {
                            "kind": "vat_invoice", "status": "", "month_from": "2025-01", "month_to": "2025-12"}},
                            path="/documents"))):
                    start = time.perf_counter()
                    got = act(client)
                    found[kind][0].append(time.perf_counter() - start)
                    found[kind][1].append(size(got))
                    if kind == "load":
                        assert "Д-1001" in client.text(got), "the page did not arrive"
                client.close()
        finally:
            loop.close()
    line("/documents load", *found["load"])
    line("«Далее» (next 20)", *found["next"])
    line("«Показать» (счета-фактуры of 2025)", *found["filter"])


if __name__ == "__main__":
    main()
