"""The demo billing on the cabinet's databases (SQLite and PostgreSQL): the
data is the same for the same day, moves with the day, and reset restores it."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from lkk_app.billing.adapters.demo import DemoBilling, ensure_seeded, reset, seed, update_contract
from lkk_app.billing.adapters.demo_data import contract_number_key, month_start
from lkk_app.billing.types import ChangeKind, ContractStatus
from tests.billing.conftest import NOW, SUPPLIER

DAY = date(2026, 11, 20)


async def everything(gateway: DemoBilling) -> dict:
    out = {}
    for kind in ChangeKind:
        page = await gateway.changes(kind, None, 1000)
        assert not page.has_more
        out[kind] = sorted(page.rows, key=lambda r: r.key)
    return out


def test_the_same_day_gives_the_same_data_and_another_day_moves_the_dates(engine, tmp_path):
    gw = DemoBilling(engine, supplier=SUPPLIER, clock=lambda: NOW)
    with Session(engine) as s:
        seed(s, DAY)
        s.commit()
    first = asyncio.run(everything(gw))
    with Session(engine) as s:
        reset(s, DAY)
        s.commit()
    assert asyncio.run(everything(gw)) == first
    with Session(engine) as s:
        reset(s, DAY + timedelta(days=31))
        s.commit()
    later = asyncio.run(everything(gw))
    before = {c.number: c.valid_from for c in first[ChangeKind.CONTRACTS]}
    after = {c.number: c.valid_from for c in later[ChangeKind.CONTRACTS]}
    assert before == {"Д-1001": date(2023, 11, 1), "Д-1002": date(2024, 5, 1),
                      "Д-2001": date(2022, 11, 1), "Д-3001": date(2024, 9, 1)}
    assert after == {n: month_start(d, 1) for n, d in before.items()}


def test_the_transformer_verification_ends_45_days_after_today(engine):
    gw = DemoBilling(engine, supplier=SUPPLIER, clock=lambda: NOW)
    with Session(engine) as s:
        seed(s, DAY)
        s.commit()
    meters = {m.key: m for m in asyncio.run(gw.changes(ChangeKind.METERS, None, 100)).rows}
    store = meters["pu-1001-2"]
    assert {t.next_verification for t in store.transformers} == {DAY + timedelta(days=45)}
    assert meters["pu-1002-1"].coefficient == Decimal(6000)


def test_ensure_seeded_seeds_once(db):
    assert ensure_seeded(db, DAY) is True
    db.commit()
    assert ensure_seeded(db, DAY) is False


def test_reset_undoes_changes_and_keeps_cursors_moving_forward(engine):
    gw = DemoBilling(engine, supplier=SUPPLIER, clock=lambda: NOW)
    with Session(engine) as s:
        seed(s, DAY)
        update_contract(s, "ctr-1001", status=ContractStatus.TERMINATED)
        s.commit()
    before = asyncio.run(gw.changes(ChangeKind.CONTRACTS, None, 1000))
    with Session(engine) as s:
        reset(s, DAY)
        s.commit()
    after = asyncio.run(gw.changes(ChangeKind.CONTRACTS, before.cursor, 1000))
    assert int(after.cursor) > int(before.cursor)
    assert {c.number: c.status for c in after.rows}["Д-1001"] is ContractStatus.ACTIVE
    assert len(after.rows) == 4


def test_update_contract_refuses_unknown_contracts_and_columns(db):
    seed(db, DAY)
    with pytest.raises(KeyError):
        update_contract(db, "ctr-none", status=ContractStatus.ACTIVE)
    with pytest.raises(KeyError):
        update_contract(db, "ctr-1001", number_key="X")


def test_contract_numbers_compare_without_case_spaces_or_dash_kind():
    assert contract_number_key(" д – 1001 ") == contract_number_key("Д-1001") == "Д-1001"
    assert contract_number_key("Д-1001") != contract_number_key("D-1001")
