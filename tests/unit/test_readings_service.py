"""«Показания» in the domain, on SQLite and PostgreSQL: the form's facts from
the read copy, submitting (warnings confirmed, idempotency, two tabs,
replacement), the delivery to the demo billing with its answers, billing
down, a meter removed in billing, the closed window, rights and ownership."""

from __future__ import annotations

import json
import secrets
from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from lkk_app.billing import binding, deliveries, sync
from lkk_app.billing.adapters.demo import DemoBilling, update_contract
from lkk_app.billing.adapters.demo_readings import remove_meter
from lkk_app.billing.binding import BindingError
from lkk_app.billing.readings import service, tables
from lkk_app.billing.readings.service import ReadingsRefused
from lkk_app.billing.types import ReadingSource
from lkk_app.core.errors import Code
from lkk_app.db import make_engine
from lkk_app.models import OutboxMessage, User
from tests.fixtures.billing_world import NORMAL, NOW, OFFICE_DAY, OFFICE_NIGHT, STORE_DAY, STORE_NIGHT, TODAY, DemoWorld

pytestmark = pytest.mark.asyncio
D = Decimal


@pytest.fixture
def world(demo_world: DemoWorld):
    """The demo billing of 07.12.2026 copied, and ann bound to «Ромашка»'s Д-1001 and Д-1002."""
    return demo_world.gateway, demo_world.user("ann", "org-romashka", ("ctr-1001", "ctr-1002"))


def _submit(engine, user: User, typed: dict, *, contract: str = "ctr-1001", key: str | None = None, **kw):
    with Session(engine) as db:
        result = service.submit(db, user_id=user.id, user_login=user.login, contract_key=contract, typed=typed,
                                idempotency_key=key or secrets.token_urlsafe(16), today=TODAY, now=NOW, **kw)
        db.commit()
        return result


def _refusal(engine, user: User, typed: dict, **kw) -> dict[str, Code]:
    with pytest.raises(ReadingsRefused) as caught:
        _submit(engine, user, typed, **kw)
    return caught.value.errors


def _form(engine, user: User, contract: str = "ctr-1001") -> service.ReadingsForm:
    with Session(engine) as db:
        return service.load_form(db, user.id, contract, today=TODAY)


async def _deliver(engine, gateway) -> list[str]:
    with Session(engine) as db:
        claimed = deliveries.DELIVERIES.claim(db)
        db.commit()
    return [await deliveries.deliver_one(pk, gateway, engine) for pk in claimed]


def _values(engine, submission_id: int) -> dict[str, tables.ReadingValue]:
    with Session(engine) as db:
        rows = db.exec(select(tables.ReadingValue).where(tables.ReadingValue.submission_id == submission_id)).all()
        return {r.register_key: r for r in rows}


def _status(engine, submission_id: int) -> str:
    with Session(engine) as db:
        return db.get(tables.ReadingSubmission, submission_id).status


# --------------------------------------------------------------------------- the form


async def test_the_form_shows_each_register_with_its_last_value_and_the_window(world, engine):
    _, ann = world
    form = _form(engine, ann)
    assert form.window is not None and form.window.period == date(2026, 11, 1)
    assert (form.window.opens, form.window.closes, form.as_of) == (date(2026, 12, 1), date(2026, 12, 31),
                                                                   date(2026, 12, 1))
    assert [(s.point.name, s.meter.serial) for s in form.slots] == [("Офис", "45678901"), ("Склад", "41234567")]
    office, store = (s.facts for s in form.slots)
    # The meter put in on 14.11: its initial value is the previous one.
    assert [(r.previous, r.previous_on) for r in office.registers] == [
        (D("0.12"), date(2026, 11, 14)), (D("0.05"), date(2026, 11, 14))]
    assert store.registers[0].previous == D("999850.00") and store.registers[0].previous_on == date(2026, 11, 1)
    assert store.registers[0].months == 12 and store.registers[0].average > 0
    assert store.coefficient == 40 and store.losses_kwh_month == 150 and form.may_submit


async def test_remote_points_are_listed_with_their_received_values(world, engine):
    _, ann = world
    form = _form(engine, ann, "ctr-1002")
    assert [s.point.name for s in form.slots] == ["Цех"] and [s.point.name for s in form.remote] == ["Котельная"]
    [received] = form.remote[0].received
    assert received.as_of == date(2026, 12, 1) and received.source is ReadingSource.REMOTE


# --------------------------------------------------------------------------- submitting


async def test_a_normal_submission_is_stored_queued_and_receipted(world, engine):
    _, ann = world
    with Session(engine) as db:
        db.add(tables.OrganisationSettings(organisation_key="org-romashka", notification_email="energo@romashka.example",
                                           updated_at=NOW))
        db.commit()
    done = _submit(engine, ann, NORMAL)
    assert done.values == 4 and not done.replaced and not done.again
    values = _values(engine, done.submission_id)
    assert values[STORE_DAY].value == D("999990.00") and values[STORE_DAY].previous == D("999850.00")
    assert values[STORE_DAY].status == tables.SUBMITTED and values[STORE_DAY].consumption > D(140 * 40)
    with Session(engine) as db:
        [job] = db.exec(select(deliveries.BillingDelivery).where(deliveries.BillingDelivery.kind == "readings")).all()
        letters = db.exec(select(OutboxMessage).where(OutboxMessage.template == "readings_receipt")).all()
    assert json.loads(job.payload_json) == {"submission_id": done.submission_id}
    assert sorted(m.recipient for m in letters) == ["ann@example.org", "energo@romashka.example"]
    rows = json.loads(letters[0].params_json)["rows"]
    assert ["Склад", "41234567", "день", "999\u00a0990,00"] == rows[2][:4]


async def test_a_rollover_must_be_confirmed_and_a_reverse_needs_a_comment(world, engine):
    _, ann = world
    typed = {**NORMAL, STORE_DAY: "20,00"}
    assert _refusal(engine, ann, typed) == {STORE_DAY: Code("reading.not_confirmed")}
    done = _submit(engine, ann, typed, confirmed=[f"reading.rollover:{STORE_DAY}"])
    stored = _values(engine, done.submission_id)[STORE_DAY]
    assert stored.confirmed == ["reading.rollover"] and stored.consumption > D(170 * 40)

    typed = {**NORMAL, OFFICE_NIGHT: "0,01"}  # below 0,05 — not a rollover
    errors = _refusal(engine, ann, typed, base_id=done.submission_id, confirmed=[f"reading.reverse:{OFFICE_NIGHT}"])
    assert errors == {OFFICE_NIGHT: Code("reading.comment_required")}
    done = _submit(engine, ann, typed, base_id=done.submission_id, confirmed=[f"reading.reverse:{OFFICE_NIGHT}"],
                   comments={OFFICE_NIGHT: "При замене прибора записали начальное показание с ошибкой"})
    stored = _values(engine, done.submission_id)[OFFICE_NIGHT]
    assert stored.comment.startswith("При замене") and stored.consumption < 0


async def test_hard_errors_block_with_their_codes(world, engine):
    _, ann = world
    errors = _refusal(engine, ann, {OFFICE_DAY: "12a", OFFICE_NIGHT: "", STORE_DAY: "1234567", STORE_NIGHT: "1"})
    assert errors[OFFICE_DAY] == Code("reading.format") and errors[OFFICE_NIGHT] == Code("reading.registers")
    assert errors[STORE_DAY].key == "reading.capacity"
    assert _refusal(engine, ann, {}) == {"": Code("readings.nothing_given")}
    assert _refusal(engine, ann, {"pu-2001-1-total": "1"}) == {"": Code("readings.unknown_register")}
    with Session(engine) as db:
        update_contract(db, "ctr-1002", window_first=1, window_last=31)
        db.commit()
    assert (await sync.sync_all(engine, world[0])).ok
    assert _refusal(engine, ann, {"pu-1002-2-total": "2000"}, contract="ctr-1002") == {
        "pu-1002-2-total": Code("reading.remote")}


async def test_the_same_form_twice_is_one_submission_and_another_tab_is_refused(world, engine):
    _, ann = world
    key = secrets.token_urlsafe(16)
    first = _submit(engine, ann, NORMAL, key=key)
    again = _submit(engine, ann, NORMAL, key=key)
    assert again.again and again.submission_id == first.submission_id
    # A second tab (its own key) that did not see the first submission.
    assert _refusal(engine, ann, NORMAL) == {"": Code("readings.changed_meanwhile")}
    with Session(engine) as db:
        assert len(db.exec(select(tables.ReadingSubmission)).all()) == 1


async def test_a_pending_submission_is_replaced_and_its_delivery_withdrawn(world, engine):
    gateway, ann = world
    first = _submit(engine, ann, NORMAL)
    second = _submit(engine, ann, {**NORMAL, OFFICE_DAY: "1 600"}, base_id=first.submission_id)
    assert second.replaced
    assert _status(engine, first.submission_id) == tables.REPLACED
    assert {v.status for v in _values(engine, first.submission_id).values()} == {tables.REPLACED}
    assert await _deliver(engine, gateway) == ["done"]
    assert _status(engine, second.submission_id) == tables.ACCEPTED
    accepted = _values(engine, second.submission_id)
    assert accepted[OFFICE_DAY].value == D("1600") and accepted[OFFICE_DAY].billing_consumption == D("1599.88")
    # Accepted now: no more replacing, and the month's value stands.
    assert _refusal(engine, ann, NORMAL, base_id=second.submission_id)[OFFICE_DAY] == Code("reading.duplicate")


async def test_a_submission_being_delivered_cannot_be_replaced(world, engine):
    _, ann = world
    first = _submit(engine, ann, NORMAL)
    with Session(engine) as db:
        deliveries.DELIVERIES.claim(db)  # the worker has it
        db.commit()
    assert _refusal(engine, ann, NORMAL, base_id=first.submission_id) == {"": Code("readings.in_progress")}
    assert _status(engine, first.submission_id) == tables.SUBMITTED


async def test_billing_down_keeps_the_submission_waiting_and_replaceable(world, engine):
    gateway, ann = world
    first = _submit(engine, ann, NORMAL)
    down = DemoBilling(make_engine("sqlite:////nonexistent/dir/x.db"), supplier="x", owns_engine=True)
    assert await _deliver(engine, down) == ["retry"]
    assert _status(engine, first.submission_id) == tables.SUBMITTED
    second = _submit(engine, ann, NORMAL, base_id=first.submission_id)
    assert second.replaced


async def test_a_meter_removed_in_billing_meanwhile_is_rejected_with_the_reason(world, engine):
    gateway, ann = world
    done = _submit(engine, ann, NORMAL)
    with Session(engine) as db:
        remove_meter(db, "pu-1001-2", date(2026, 11, 20))
        db.commit()
    assert await _deliver(engine, gateway) == ["done"]
    assert _status(engine, done.submission_id) == tables.PARTLY
    values = _values(engine, done.submission_id)
    assert (values[STORE_DAY].status, values[STORE_DAY].reason) == (tables.REJECTED, "reading.meter_removed")
    assert values[OFFICE_DAY].status == tables.ACCEPTED
    # A rejected value does not block the month: it may be given again.
    form = _form(engine, ann)
    assert STORE_DAY not in form.live and OFFICE_DAY in form.live


async def test_outside_the_window_the_form_says_when_it_opens(world, engine):
    _, ann = world
    form = _form(engine, ann, "ctr-1002")  # its own window: 25-2
    assert form.window is None and form.upcoming.opens == date(2026, 12, 25)
    assert _refusal(engine, ann, {"pu-1002-1-total": "2500"}, contract="ctr-1002") == {
        "": Code("readings.closed", opens=date(2026, 12, 25))}


async def test_only_the_right_holder_of_the_organisation_submits(world, engine, demo_world):
    _, ann = world
    bob = demo_world.user("bob", "org-romashka", role=binding.MEMBER)
    assert _form(engine, bob).may_submit is False
    with pytest.raises(BindingError) as caught:
        _submit(engine, bob, NORMAL)
    assert caught.value.code == "rights.readings"
    eve = demo_world.user("eve", "org-zarya", ("ctr-2001",))
    for call in (lambda: _submit(engine, eve, NORMAL), lambda: _form(engine, eve)):
        with pytest.raises(BindingError) as caught:
            call()
        assert caught.value.code == "contract.not_found"
