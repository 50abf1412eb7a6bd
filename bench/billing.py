"""Benchmark of the billing read copy with a large customer.

Seeds the demo billing with «ООО «Большая сеть-Демо»» (300 contracts, 5 000
points by default) in a fresh SQLite database, then measures a full sync into
the cabinet's read copy (in-process demo adapter), an incremental pass with
nothing new, and the contracts list of a user who has all 300 bound (the
domain call behind «Договоры», one page of 50).

    .venv/bin/python bench/billing.py [--contracts N] [--points N] [--samples N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, SQLModel  # noqa: E402

from bench.readings import new_user  # noqa: E402
from lkk_app.billing import binding, sync  # noqa: E402
from lkk_app.billing.adapters import demo_data  # noqa: E402
from lkk_app.billing.adapters.demo import DemoBilling  # noqa: E402
from lkk_app.db import make_engine  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contracts", type=int, default=300)
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    today = date.today()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        SQLModel.metadata.create_all(engine)
        with Session(engine) as db:
            demo_data.seed(db, today)
            demo_data.seed_large_customer(db, today, contracts=args.contracts, points=args.points)
            user_id = new_user(db)
        gateway = DemoBilling(engine, supplier="ГП Демо-Энергосбыт")
        start = time.perf_counter()
        result = await sync.sync_all(engine, gateway)
        full = time.perf_counter() - start
        start = time.perf_counter()
        again = await sync.sync_all(engine, gateway)
        incremental = time.perf_counter() - start
        with Session(engine) as db:
            keys = [f"ctr-L{n:04d}" for n in range(args.contracts)]
            binding.bind(db, user_id=user_id, organisation_key=demo_data.LARGE_ORGANISATION,
                         contract_keys=keys)
            db.commit()
        times = []
        for i in range(args.samples):
            with Session(engine) as db:
                start = time.perf_counter()
                page = binding.bound_contracts(db, user_id, offset=(i % 6) * 50, limit=50)
                times.append(time.perf_counter() - start)
        assert page.total == args.contracts and len(page.contracts) == 50
        await gateway.aclose()
        engine.dispose()
    print(f"records synced: {result.received} ({args.contracts} contracts, {args.points} points)")
    print(f"full sync: {full:.2f} s; pass with nothing new: {incremental * 1000:.0f} ms "
          f"(received {again.received})")
    print(f"contracts list, page of 50 of {args.contracts}: median {statistics.median(times) * 1000:.1f} ms, "
          f"p95 {pct(times, 0.95) * 1000:.1f} ms (n={len(times)})")


if __name__ == "__main__":
    asyncio.run(main())
