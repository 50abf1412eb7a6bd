"""Benchmark of «Показания» for a customer with 2 000 registers.

Seeds the demo billing with Д-8001 of «ООО «Большая сеть-Демо»» (1 000 points by
default, each with a two-zone meter and 24 months of accepted readings:
``demo_data.seed_metered_customer``) in a fresh SQLite database, or in a
throwaway schema of the PostgreSQL database given with ``--postgres``; syncs
the read copy (setup: timed, not a measure), binds the contract to a user who
may give readings and then measures the domain calls behind the page, each in
a session of its own:

- ``service.load_form`` (the page load, and again after a submit);
- ``service.check`` of a value for every register (previous + the monthly
  average: no warnings);
- ``service.submit`` with a commit, the month's first submission: the rows it
  wrote (submission, values, delivery job, receipts) are deleted after each
  round, not timed, so every round starts from the same state;
- ``service.submit`` replacing the pending submission (``base_id``), as a
  customer who corrects the form before billing answers: each round replaces
  the previous round's one (a register holds one live value a month), and the
  replaced one is then deleted, not timed (the form reads every submission of
  the month: kept, each would add 2 000 values to the next round's load);
- ``excel.template`` of the form;
- a filled template read back: ``excel.read`` + ``load_form`` +
  ``service.check_file``, as «Загрузить файл» does.

    .venv/bin/python bench/readings.py [--points N] [--samples N] [--postgres URL] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, SQLModel, col  # noqa: E402

from lkk_app import models  # noqa: E402
from lkk_app.billing import binding, deliveries, sync  # noqa: E402
from lkk_app.billing.adapters import demo_data  # noqa: E402
from lkk_app.billing.adapters.demo import DemoBilling  # noqa: E402
from lkk_app.billing.readings import excel, service, tables  # noqa: E402
from lkk_app.db import make_engine  # noqa: E402

CONTRACT = demo_data.METERED_CONTRACT


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))]


@contextmanager
def database(postgres: str | None) -> Iterator[sa.Engine]:
    """An empty database with the app's tables: a SQLite file in a temporary
    folder, or a schema of its own in ``postgres`` (dropped at the end)."""
    if not postgres:
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
            SQLModel.metadata.create_all(engine)
            yield engine
            engine.dispose()
        return
    schema = f"lkk_bench_{secrets.token_hex(6)}"
    admin = sa.create_engine(postgres, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in postgres else "?"
        engine = make_engine(f"{postgres}{sep}options={quote(f'-csearch_path={schema}')}")
        SQLModel.metadata.create_all(engine)
        yield engine
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def sync_demo(engine) -> sync.SyncResult:
    """One full pass of the sync from the demo billing into the read copy."""
    async def pull() -> sync.SyncResult:
        gateway = DemoBilling(engine, supplier="ГП Демо-Энергосбыт")
        try:
            return await sync.sync_all(engine, gateway)
        finally:
            await gateway.aclose()

    return asyncio.run(pull())


def new_user(db: Session) -> int:
    """The user the benchmarks work as (a row: never logs in), committed; its id."""
    now = datetime.now()
    user = models.User(login="bench", login_key="bench", login_skeleton="bench", email="bench@example.org",
                       email_key="bench@example.org", password_hash="x", created_at=now, updated_at=now)
    db.add(user)
    db.commit()
    return user.id or 0


def prepare(engine: sa.Engine, points: int, today: date) -> int:
    """The customer in the demo billing and the read copy, bound to a new user; the user's id."""
    start = time.perf_counter()
    with Session(engine) as db:
        demo_data.seed_metered_customer(db, today, points=points)
        user_id = new_user(db)
    print(f"seed: {time.perf_counter() - start:.1f} s")

    start = time.perf_counter()
    result = sync_demo(engine)
    assert result.ok, result
    print(f"sync: {result.received} records in {time.perf_counter() - start:.1f} s")
    with Session(engine) as db:
        binding.bind(db, user_id=user_id, organisation_key=demo_data.LARGE_ORGANISATION, contract_keys=[CONTRACT])
        db.commit()
    return user_id


def typed_values(form: service.ReadingsForm) -> dict[str, str]:
    """A value for every register as a customer types it: previous + the monthly average (K = 1)."""
    typed = {}
    for slot in form.slots:
        for reg in slot.facts.registers:
            assert reg.previous is not None and reg.average is not None
            value = (reg.previous + reg.average / slot.facts.coefficient).quantize(Decimal("0.01"))
            typed[reg.key] = format(value, "f").replace(".", ",")
    return typed


def filled(template: bytes, typed: dict[str, str]) -> bytes:
    """The template with the values typed into its «Новое показание» cells."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(template))
    sheet = book.worksheets[0]
    for row in sheet.iter_rows(min_row=4):
        key = row[0].value
        if key in typed:
            row[excel.VALUE_COLUMN - 1].value = typed[key]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def forget_replaced(engine: sa.Engine) -> None:
    """Delete the submissions replaced so far: the form reads every submission of
    the month, so without this each round would load 2 000 more values than the last."""
    with Session(engine) as db:
        replaced = sa.select(tables.ReadingSubmission.id).where(tables.ReadingSubmission.status == tables.REPLACED)
        db.execute(sa.delete(tables.ReadingValue).where(col(tables.ReadingValue.submission_id).in_(replaced)))
        db.execute(sa.delete(tables.ReadingSubmission).where(tables.ReadingSubmission.status == tables.REPLACED))
        db.commit()


def forget_submissions(engine: sa.Engine) -> None:
    """Delete every submission and what it queued (the bench's database has nothing else there)."""
    with Session(engine) as db:
        for table in (models.OutboxMessage, deliveries.BillingDelivery, tables.ReadingValue,
                      tables.ReadingSubmission):
            db.execute(sa.delete(table))
        db.commit()


class Bench:
    def __init__(self, engine: sa.Engine, user_id: int, today: date, samples: int, profile: bool):
        self.engine, self.user_id, self.today = engine, user_id, today
        self.samples, self.profile = samples, profile
        self.times: dict[str, list[float]] = {}

    def load(self, db: Session) -> service.ReadingsForm:
        return service.load_form(db, self.user_id, CONTRACT, today=self.today)

    def submit(self, db: Session, typed: dict[str, str], base_id: int | None = None) -> service.Submitted:
        done = service.submit(db, user_id=self.user_id, user_login="bench", contract_key=CONTRACT, typed=typed,
                              idempotency_key=secrets.token_urlsafe(24), base_id=base_id, today=self.today)
        db.commit()
        return done

    def measure(self, name: str, call: Callable[[Session], Any], after: Callable[[Any], None] | None = None,
                samples: int | None = None) -> Any:
        """Time ``call`` in a new session each round (``after`` runs untimed); the last result."""
        result = None
        for _ in range(samples or self.samples):
            with Session(self.engine) as db:
                start = time.perf_counter()
                result = call(db)
                self.times.setdefault(name, []).append(time.perf_counter() - start)
            if after is not None:
                after(result)
        if self.profile:
            profiler = cProfile.Profile()
            with Session(self.engine) as db:
                result = profiler.runcall(call, db)
            if after is not None:
                after(result)
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
            print(f"--- profile: {name}\n" + out.getvalue().split("\n\n", 1)[-1].strip() + "\n")
        return result

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def run(self) -> None:
        form = self.measure("load_form", self.load)
        registers = sum(len(s.meter.registers) for s in form.slots)
        typed = typed_values(form)
        checks = self.measure("check", lambda _db: service.check(form, typed))
        assert not any(c.warnings or not c.ok for c in checks), "the typed values should pass without warnings"

        self.measure("submit, the month's first", lambda db: self.submit(db, typed),
                     after=lambda _done: forget_submissions(self.engine))
        with Session(self.engine) as db:
            last = [self.submit(db, typed).submission_id]

        def replace(db: Session) -> service.Submitted:
            done = self.submit(db, typed, base_id=last[0])
            assert done.replaced and done.values == registers
            last[0] = done.submission_id
            return done

        self.measure("submit replacing the pending one", replace, after=lambda _done: forget_replaced(self.engine))
        forget_submissions(self.engine)

        data = self.measure("excel.template", lambda _db: excel.template(form))
        upload = filled(data, typed)
        rows = self.measure("excel.read", lambda _db: excel.read(upload))
        found = self.measure("check_file", lambda _db: service.check_file(form, rows))
        assert found.ok and len(found.typed) == registers, (found.row_errors, found.errors)
        self.measure("file: read + load_form + check_file",
                     lambda db: service.check_file(service.load_form(db, self.user_id, CONTRACT, today=self.today),
                                                   excel.read(upload)))
        self.report(registers, len(form.slots), len(data), len(upload))

    def report(self, registers: int, meters: int, template_bytes: int, upload_bytes: int) -> None:
        print(f"\n{meters} meters, {registers} registers; template {template_bytes / 1024:.0f} KiB, "
              f"filled {upload_bytes / 1024:.0f} KiB")
        width = max(map(len, self.times)) + 2
        print(f"{'measure':<{width}}{'median':>10}{'p95':>10}{'n':>5}")
        for name, values in self.times.items():
            print(f"{name:<{width}}{statistics.median(values) * 1000:>8.0f}ms{pct(values, 0.95) * 1000:>8.0f}ms"
                  f"{len(values):>5}")
        # The page: its load, a check of what was typed, the submit (which gives back the
        # form as it is now: the page shows that, no second load).
        form = self.median("load_form") + self.median("check") + self.median("submit, the month's first")
        upload = self.median("file: read + load_form + check_file")
        print(f"\nload + check + submit (medians): {form * 1000:.0f} ms "
              f"(goal ≤ 1 000 ms: {'met' if form <= 1 else 'missed'})")
        print(f"file of {registers} rows read and checked: {upload * 1000:.0f} ms "
              f"(goal ≤ 3 000 ms: {'met' if upload <= 3 else 'missed'})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--postgres", metavar="URL", help="measure in a new schema of this PostgreSQL database")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one more round of each")
    args = parser.parse_args()
    today = date.today()
    with database(args.postgres) as engine:
        print(f"database: {engine.dialect.name}; today {today}")
        user_id = prepare(engine, args.points, today)
        Bench(engine, user_id, today, args.samples, args.profile).run()


if __name__ == "__main__":
    main()
