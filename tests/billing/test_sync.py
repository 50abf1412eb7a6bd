"""The read copy and its sync: complete, incremental, idempotent, resumable, and
kept when billing is down.  Both adapters (demo in-process, HTTP against the
reference server) × both cabinet databases (SQLite and, with
``LKK_TEST_POSTGRES_URL``, PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from lkk_app.billing import store, sync
from lkk_app.billing.adapters.demo_data import update_contract
from lkk_app.billing.gateway import BillingUnavailable
from lkk_app.billing.types import ChangeKind, ContractStatus
from lkk_app.core import clock
from tests.billing.conftest import Billing

pytestmark = pytest.mark.asyncio

TOTALS = {"organisations": 3, "contracts": 4, "points": 6, "meters": 7, "installations": 7, "readings": 192,
          "documents": 416, "payments": 227, "balances": 4, "plan_items": 233}


def counts(engine) -> dict[str, int]:
    with Session(engine) as db:
        return store.copied_count(db)


async def test_a_first_pass_copies_every_record_and_dates_the_copy(billing: Billing, engine, monkeypatch):
    moment = datetime(2026, 11, 20, 11, 5, 0)
    monkeypatch.setattr(clock, "utcnow", lambda: moment)
    seen: list[tuple[str, int]] = []
    result = await sync.sync_all(engine, billing.gateway, page_size=2,
                                 progress=lambda kind, n: seen.append((kind.value, n)))
    assert result.ok and result.received == sum(TOTALS.values())
    assert counts(engine) == TOTALS
    # Progress is reported per page: 4 contracts in pages of 2 → 2, 4.
    assert [n for kind, n in seen if kind == "contracts"] == [2, 4]
    with Session(engine) as db:
        romashka = next(o for o in [store.organisation(db, k) for k in ("org-romashka",)] if o)
        assert romashka.inn == "7701000001"
        contracts = store.contracts_of(db, romashka.key)
        assert [c.number for c in contracts] == ["Д-1001", "Д-1002"]
        assert contracts[1].max_power_kw == Decimal("800")
        assert len(store.points_of(db, contracts[0].key)) == 2
        assert store.data_as_of(db) == moment


async def test_a_second_pass_receives_nothing_and_changes_nothing(billing: Billing, engine):
    first = await sync.sync_all(engine, billing.gateway)
    with Session(engine) as db:
        before = {c.key: c for c in store.contracts_of(db, "org-romashka")}
    second = await sync.sync_all(engine, billing.gateway)
    assert first.received == sum(TOTALS.values()) and second.ok and second.received == 0
    assert counts(engine) == TOTALS
    with Session(engine) as db:
        assert {c.key: c for c in store.contracts_of(db, "org-romashka")} == before


async def test_a_change_in_billing_comes_alone_and_replaces_the_copy(billing: Billing, engine):
    await sync.sync_all(engine, billing.gateway)
    billing.write(lambda s: update_contract(s, "ctr-1002", status=ContractStatus.SUSPENDED))
    result = await sync.sync_all(engine, billing.gateway)
    assert [(k.kind.value, k.received) for k in result.kinds if k.received] == [("contracts", 1)]
    with Session(engine) as db:
        assert store.contract(db, "ctr-1002").status is ContractStatus.SUSPENDED
    assert counts(engine) == TOTALS


async def test_a_pass_that_failed_midway_resumes_after_its_last_stored_page(billing: Billing, engine):
    class FailsAfterTwoPages:
        def __init__(self, inner):
            self.inner, self.calls = inner, 0

        async def changes(self, kind, cursor, limit=100):
            self.calls += 1
            if self.calls > 2:
                raise BillingUnavailable("timeout")
            return await self.inner.changes(kind, cursor, limit)

    flaky = FailsAfterTwoPages(billing.gateway)
    failed = await sync.sync_all(engine, flaky, page_size=2)  # type: ignore[arg-type]
    assert failed.error == "unavailable:timeout"
    assert counts(engine) == {"organisations": 3}  # two pages of organisations (2 + 1)
    with Session(engine) as db:
        state = store.sync_state(db, ChangeKind.CONTRACTS)
        assert state.last_error == "unavailable:timeout" and state.running_until is None
        assert store.data_as_of(db) is None
    resumed = await sync.sync_all(engine, billing.gateway, page_size=2)
    assert resumed.ok
    # The organisations were not received again; everything else was.
    assert {k.kind.value: k.received for k in resumed.kinds} == {**TOTALS, "organisations": 0}
    assert counts(engine) == TOTALS
    with Session(engine) as db:
        assert store.sync_state(db, ChangeKind.CONTRACTS).last_error is None


async def test_billing_down_keeps_the_copy_and_its_date(billing: Billing, engine):
    await sync.sync_all(engine, billing.gateway)
    with Session(engine) as db:
        as_of = store.data_as_of(db)
    down = billing.make_down()
    try:
        result = await sync.sync_all(engine, down)
    finally:
        await down.aclose()
    assert not result.ok and result.error.startswith("unavailable:")
    assert counts(engine) == TOTALS
    with Session(engine) as db:
        assert store.data_as_of(db) == as_of
        assert [c.number for c in store.contracts_of(db, "org-zarya")] == ["Д-2001"]
        assert store.sync_state(db, ChangeKind.ORGANISATIONS).last_error == result.error


async def test_a_kind_another_worker_is_pulling_is_left_to_it(billing: Billing, engine):
    with Session(engine) as db:
        state = store.sync_state(db, ChangeKind.CONTRACTS)
        state.running_until = clock.utcnow() + timedelta(minutes=3)
        db.add(state)
        db.commit()
    result = await sync.sync_all(engine, billing.gateway)
    busy = {k.kind for k in result.kinds if k.busy}
    assert busy == {ChangeKind.CONTRACTS}
    assert "contracts" not in counts(engine)
    with Session(engine) as db:  # an expired lease is taken over
        state = store.sync_state(db, ChangeKind.CONTRACTS)
        state.running_until = clock.utcnow() - timedelta(seconds=1)
        db.add(state)
        db.commit()
    again = await sync.sync_all(engine, billing.gateway)
    assert not any(k.busy for k in again.kinds) and counts(engine) == TOTALS


async def test_the_copy_is_stale_before_the_first_pass_and_after_the_interval(billing: Billing, engine):
    assert sync.is_stale(engine, 15)
    await sync.sync_all(engine, billing.gateway)
    now = clock.utcnow()
    assert not sync.is_stale(engine, 15, now=now + timedelta(minutes=14))
    assert sync.is_stale(engine, 15, now=now + timedelta(minutes=16))
