"""Readings through the gateway, on both adapters (the demo billing in-process
and the HTTP adapter against the reference server): billing's history of
readings, and what it does with a submission — accepts with the consumption,
rejects with a code, answers a repeated key the same and refuses a reused one."""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal

import pytest

from lkk_app.billing.adapters.demo_readings import remove_meter
from lkk_app.billing.gateway import BillingRejected
from lkk_app.billing.types import (
    ChangeKind,
    ReadingEntry,
    ReadingsSubmission,
    ReadingSource,
    ReadingStatus,
)
from tests.billing.conftest import Billing
from tests.billing.test_gateway_contract import pull_all

pytestmark = pytest.mark.asyncio

AS_OF = date(2026, 11, 1)  # the demo data (today 20.11.2026) has readings up to 01.10.2026
D = Decimal


def submission(contract: str, *entries: tuple, as_of: date = AS_OF) -> ReadingsSubmission:
    return ReadingsSubmission(contract, as_of, ReadingSource.CUSTOMER_FORM, tuple(
        ReadingEntry(key, D(value), tuple(confirmed), comment) for key, value, *rest in entries
        for confirmed, comment in [(rest[0] if rest else (), rest[1] if len(rest) > 1 else "")]))


async def last_values(billing: Billing, meter: str) -> dict[str, Decimal]:
    rows, _ = await pull_all(billing.gateway, ChangeKind.READINGS, limit=500)
    mine = sorted((r for r in rows if r.meter_key == meter), key=lambda r: r.as_of)
    return {r.register_key: r.value for r in mine}


async def test_billing_has_24_months_of_accepted_readings(billing: Billing):
    rows, _ = await pull_all(billing.gateway, ChangeKind.READINGS, limit=500)
    store = sorted((r for r in rows if r.register_key == "pu-1001-2-day"), key=lambda r: r.as_of)
    assert len(store) == 24 and store[-1].as_of == date(2026, 10, 1)
    assert store[-1].value == D("999850.00") and store[-1].consumption_kwh > 0
    assert {r.status for r in rows} == {ReadingStatus.ACCEPTED}
    boiler = [r for r in rows if r.point_key == "tu-1002-2"]
    assert boiler and {r.source for r in boiler} == {ReadingSource.REMOTE}


async def test_a_valid_submission_is_accepted_with_its_consumption_once_per_key(billing: Billing):
    sent = submission("ctr-3001", ("pu-3001-1-total", "15700.0"))
    key = secrets.token_urlsafe(12)
    ack = await billing.gateway.submit_readings(sent, key)
    [result] = ack.results
    assert result.status is ReadingStatus.ACCEPTED and result.reason is None
    assert result.consumption_kwh == D("21.1") and result.reading_key
    again = await billing.gateway.submit_readings(sent, key)
    assert again == ack
    with pytest.raises(BillingRejected) as caught:
        await billing.gateway.submit_readings(submission("ctr-3001", ("pu-3001-1-total", "15701.0")), key)
    assert caught.value.code == "idempotency.conflict"
    assert (await last_values(billing, "pu-3001-1"))["pu-3001-1-total"] == D("15700.0")
    # A second value for the same day under a new key is a duplicate.
    dup = await billing.gateway.submit_readings(sent, secrets.token_urlsafe(12))
    assert [(r.status, r.reason) for r in dup.results] == [(ReadingStatus.REJECTED, "reading.duplicate")]


async def test_a_rollover_is_taken_only_when_confirmed(billing: Billing):
    entries = (("pu-1001-2-day", "20.00"), ("pu-1001-2-night", "412400.00"))
    ack = await billing.gateway.submit_readings(submission("ctr-1001", *entries), secrets.token_urlsafe(12))
    assert {(r.status, r.reason) for r in ack.results} == {(ReadingStatus.REJECTED, "reading.unconfirmed")}
    confirmed = (("pu-1001-2-day", "20.00", ["reading.rollover"]), ("pu-1001-2-night", "412400.00"))
    ack = await billing.gateway.submit_readings(submission("ctr-1001", *confirmed), secrets.token_urlsafe(12))
    day, night = ack.results
    assert day.status is night.status is ReadingStatus.ACCEPTED
    # 999 850,00 → 20,00 through zero is 170 units × 40, plus 2 % and a share of 150 кВт·ч.
    assert day.consumption_kwh > D(170 * 40) * D("1.02")


async def test_a_reverse_reading_with_its_confirmation_is_taken(billing: Billing):
    entries = (("pu-3001-1-total", "15000.0", ["reading.reverse"], "Прошлое показание было завышено"),)
    ack = await billing.gateway.submit_readings(submission("ctr-3001", *entries), secrets.token_urlsafe(12))
    assert ack.results[0].status is ReadingStatus.ACCEPTED and ack.results[0].consumption_kwh < 0


async def test_wrong_entries_are_rejected_each_with_its_code(billing: Billing):
    ack = await billing.gateway.submit_readings(submission(
        "ctr-1002", ("pu-1002-2-total", "1900.00"), ("pu-1001-2-day", "999900.00"), ("nope", "1")),
        secrets.token_urlsafe(12))
    assert [(r.register_key, r.status, r.reason) for r in ack.results] == [
        ("pu-1002-2-total", ReadingStatus.REJECTED, "reading.remote"),
        ("pu-1001-2-day", ReadingStatus.REJECTED, "reading.meter_removed"),  # another contract's meter
        ("nope", ReadingStatus.REJECTED, "reading.unknown_register"),
    ]
    part = await billing.gateway.submit_readings(submission("ctr-1001", ("pu-1001-2-day", "999900.00")),
                                                 secrets.token_urlsafe(12))
    assert part.results[0].reason == "reading.registers"
    big = await billing.gateway.submit_readings(submission("ctr-3001", ("pu-3001-1-total", "1234567.0")),
                                                secrets.token_urlsafe(12))
    assert big.results[0].reason == "reading.capacity"


async def test_a_meter_removed_in_billing_meanwhile_is_rejected(billing: Billing):
    billing.write(lambda db: remove_meter(db, "pu-3001-1", date(2026, 10, 20)))
    ack = await billing.gateway.submit_readings(submission("ctr-3001", ("pu-3001-1-total", "15700.0")),
                                                secrets.token_urlsafe(12))
    assert (ack.results[0].status, ack.results[0].reason) == (ReadingStatus.REJECTED, "reading.meter_removed")


async def test_an_unknown_contract_or_empty_submission_is_refused(billing: Billing):
    with pytest.raises(BillingRejected) as caught:
        await billing.gateway.submit_readings(submission("ctr-none", ("pu-3001-1-total", "1")),
                                              secrets.token_urlsafe(12))
    assert caught.value.code == "contract.not_found"
    with pytest.raises(BillingRejected) as caught:
        await billing.gateway.submit_readings(submission("ctr-3001"), secrets.token_urlsafe(12))
    assert caught.value.code == "request.invalid"


async def test_accepted_readings_come_with_the_next_pull(billing: Billing):
    _, cursor = await pull_all(billing.gateway, ChangeKind.READINGS, limit=500)
    await billing.gateway.submit_readings(submission("ctr-3001", ("pu-3001-1-total", "15750.5")),
                                          secrets.token_urlsafe(12))
    page = await billing.gateway.changes(ChangeKind.READINGS, cursor, 10)
    assert [(r.register_key, r.value, r.as_of, r.source) for r in page.rows] == [
        ("pu-3001-1-total", D("15750.5"), AS_OF, ReadingSource.CUSTOMER_FORM)]
