"""Benchmark of «Документы» and «Расчёты» for a customer with 5 000 documents.

Seeds the demo billing (its four contracts, 24 months each) in a fresh SQLite
database, or in a throwaway schema of the PostgreSQL database given with
``--postgres``; syncs the read copy; then adds 5 000 documents of Д-1001 to the
copy (setup, not timed: copies of its own счета-фактуры, акты and счета
under new keys and months, as two decades of history would be) and binds the
contract to a user.  Then it measures, each call in a session of its own:

- ``documents.documents_page``: the first page of 20, a page deep in the list,
  a page filtered by kind, by period and by status, the oldest first — the
  server's work behind «Документы» (``--samples`` each, p95 over all);
- a PDF drawn (``pdf.render`` with ``document_files.print_context``): a
  счёт-фактура, an акт, a счёт, and a счёт-фактура of 40 lines;
- ``document_files.pdf_bytes`` once drawn (the stored file);
- a .zip of 50 documents: drawn the first time, then from the store;
- ``settlements.settlements``: the whole of «Расчёты».

    .venv/bin/python bench/documents.py [--documents N] [--samples N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.readings import database, new_user, pct, sync_demo  # noqa: E402
from lkk_app.billing import binding, document_files, documents, settlements, store, wire  # noqa: E402
from lkk_app.billing.adapters import demo_data  # noqa: E402
from lkk_app.billing.pdf import render  # noqa: E402
from lkk_app.billing.types import Document, DocumentKind, DocumentLine, DocumentStatus  # noqa: E402
from lkk_app.db import table_of  # noqa: E402
from lkk_app.settings import get_settings  # noqa: E402

CONTRACT = "ctr-1001"


def prepare(engine: sa.Engine, count: int, today: date) -> int:
    """The demo billing, the copy, ``count`` more documents of Д-1001, the user's id."""
    with Session(engine) as db:
        demo_data.seed(db, today)
        user_id = new_user(db)

    assert sync_demo(engine).ok
    add_documents(engine, count)
    with Session(engine) as db:
        binding.bind(db, user_id=user_id, organisation_key="org-romashka", contract_keys=[CONTRACT, "ctr-1002"])
        db.commit()
    return user_id


def add_documents(engine: sa.Engine, count: int) -> None:
    """``count`` more documents of Д-1001 in the copy: its own, under new keys, years back."""
    start = time.perf_counter()
    now = datetime.now()
    with Session(engine) as db:
        own = store.documents_of(db, CONTRACT)
        rows = []
        for n in range(count):
            model = own[n % len(own)]
            back = n // len(own) + 1  # each round of copies a few years further back
            issued = model.issued_on - timedelta(days=365 * 3 * back)
            period = model.period_from.replace(year=model.period_from.year - 3 * back)
            copy = dataclasses.replace(model, key=f"bench-{n:06d}", number=f"{model.number}-{n}", issued_on=issued,
                                       period_from=period, period_to=period + (model.period_to - model.period_from))
            rows.append({"key": copy.key, "contract_key": CONTRACT, "kind": copy.kind.value, "number": copy.number,
                         "issued_on": copy.issued_on, "period_from": copy.period_from, "period_to": copy.period_to,
                         "amount": copy.amount, "status": copy.status.value, "synced_at": now,
                         "first_synced_at": now,
                         "replaces_key": None, "data": json.dumps(wire.encode(copy), ensure_ascii=False, sort_keys=True)})
        for start_row in range(0, len(rows), 500):
            db.execute(sa.insert(table_of(store.BillingDocumentCopy)), rows[start_row:start_row + 500])
        db.commit()
        total = db.execute(sa.select(sa.func.count()).select_from(store.BillingDocumentCopy)
                           .where(store.BillingDocumentCopy.contract_key == CONTRACT)).scalar_one()
    print(f"setup: {total} documents of {CONTRACT} in the copy ({time.perf_counter() - start:.1f} s)")


def timed(engine: sa.Engine, fn: Callable[[Session], Any], samples: int) -> list[float]:
    found = []
    for _ in range(samples):
        with Session(engine) as db:
            start = time.perf_counter()
            fn(db)
            found.append((time.perf_counter() - start) * 1000)
    return found


def line(name: str, values: list[float]) -> None:
    print(f"{name:<58} median {statistics.median(values):7.1f} ms  p95 {pct(values, 0.95):7.1f} ms  (n={len(values)})")


def big_invoice(doc: Document) -> Document:
    """The счёт-фактура of a customer with 20 two-zone points: 40 lines."""
    lines = tuple(DocumentLine(f"tu-big-{n // 2}", doc.lines[n % 2].zone, Decimal("1234.567"), doc.lines[n % 2].price,
                               (Decimal("1234.567") * doc.lines[n % 2].price).quantize(Decimal("0.01")))
                  for n in range(40))
    net = sum((x.amount for x in lines), Decimal(0))
    vat = (net * doc.vat_rate / 100).quantize(Decimal("0.01"))
    return dataclasses.replace(doc, lines=lines, amount=net + vat, vat=vat,
                               energy_kwh=sum((x.energy_kwh for x in lines), Decimal(0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    settings = get_settings()
    today = date.today()
    with database(args.postgres or None) as engine:
        user = prepare(engine, args.documents, today)
        rng = random.Random(7)

        def page(shown: documents.Filter, offset: int = 0) -> Callable[[Session], Any]:
            return lambda db: documents.documents_page(db, user, CONTRACT, shown, offset=offset, limit=20)

        with Session(engine) as db:
            total = documents.documents_page(db, user, CONTRACT, documents.Filter()).total
        calls = {
            "first page of 20": page(documents.Filter()),
            "a page deep in the list": page(documents.Filter(), offset=rng.randrange(total - 20)),
            "filtered: счета-фактуры": page(documents.parse_filter("vat_invoice", "", "", "")),
            "filtered: one year": page(documents.parse_filter("", "", "2025-01", "2025-12")),
            "filtered: сторнированные": page(documents.parse_filter("", "reversed", "", "")),
            "oldest first": page(documents.Filter(newest_first=False)),
        }
        every: list[float] = []
        print(f"\n«Документы», {total} documents of the contract:")
        for name, call in calls.items():
            values = timed(engine, call, args.samples)
            every += values
            line(name, values)
        line("all pages", every)

        print("\nPDF drawn (print_context + render):")
        with Session(engine) as db:
            own = {d.kind: d for d in reversed(store.documents_of(db, CONTRACT))
                   if not d.key.startswith("bench-") and d.status is DocumentStatus.ISSUED}
        for kind in (DocumentKind.VAT_INVOICE, DocumentKind.TRANSFER_ACT, DocumentKind.INVOICE):
            doc = own[kind]
            line(f"{doc.number} ({len(doc.lines)} lines)", timed(
                engine, lambda db, doc=doc: render(doc, document_files.print_context(db, doc, settings)),
                max(5, args.samples // 3)))
        big = big_invoice(own[DocumentKind.VAT_INVOICE])
        line("счёт-фактура of 40 lines", timed(
            engine, lambda db: render(big, document_files.print_context(db, big, settings)),
            max(5, args.samples // 3)))
        with Session(engine) as db:
            document_files.pdf_bytes(db, own[DocumentKind.VAT_INVOICE], settings)
        line("stored PDF (pdf_bytes once drawn)", timed(
            engine, lambda db: document_files.pdf_bytes(db, own[DocumentKind.VAT_INVOICE], settings), args.samples))

        with Session(engine) as db:
            fifty = documents.documents_page(db, user, CONTRACT, documents.Filter(), limit=50).documents
        with Session(engine) as db:
            start = time.perf_counter()
            first = document_files.zip_bytes(db, list(fifty), settings)
            drawn = (time.perf_counter() - start) * 1000
        stored = timed(engine, lambda db: document_files.zip_bytes(db, list(fifty), settings), 5)
        print(f"\n.zip of 50: drawn {drawn:.0f} ms ({len(first) // 1024} KiB); from the store median "
              f"{statistics.median(stored):.0f} ms")

        print("\n«Расчёты»:")
        line("settlements (balance, plan, 20 payments, 24 months)", timed(
            engine, lambda db: settlements.settlements(db, user, CONTRACT, today=today, supplier=settings.supplier),
            args.samples))


if __name__ == "__main__":
    main()
