"""Letters about the contracts (lkk_app/billing/notifications.py) on the demo
billing's world of 07.12.2026: the reading window opens and closes, a debt, new
documents — each told once, at most one letter of a kind a day per person, only
the kinds the person chose, and never twice when two processes run at once."""

from __future__ import annotations

import json
import secrets
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from lkk_app.billing import notifications, sync
from lkk_app.billing.readings import tables as reading_tables
from lkk_app.billing.types import ReadingEntry, ReadingsSubmission, ReadingSource, ReadingStatus
from lkk_app.mail import templates
from lkk_app.models import OutboxMessage, User
from lkk_app.settings import get_settings
from tests.fixtures.billing_world import NOW, DemoWorld

pytestmark = pytest.mark.asyncio
D = Decimal


@pytest.fixture
def world(two_organisations):
    return two_organisations


def run(engine, now: datetime) -> int:
    return notifications.run_pass(engine, today=now.date(), now=now, settings=get_settings())


def letters(engine, user: User) -> list[OutboxMessage]:
    with Session(engine) as db:
        return list(db.exec(select(OutboxMessage).where(OutboxMessage.recipient == user.email)
                            .order_by(OutboxMessage.id)).all())


def params_of(message: OutboxMessage) -> dict:
    return json.loads(message.params_json)


def rows_of(message: OutboxMessage) -> list[list[str]]:
    return params_of(message)["rows"]


async def test_the_window_and_the_debt_are_told_once_and_history_is_not_new(world):
    w, ann, eve = world
    assert run(w.engine, NOW) == 3
    mine = letters(w.engine, ann)
    assert [m.template for m in mine] == ["readings_window_open", "debt_appeared"]
    assert rows_of(mine[0]) == [["Д-1001", "ноябрь 2026", "31.12.2026"]]  # Д-1002's window closed on 02.12
    [debt] = rows_of(mine[1])
    assert debt[0] == "Д-1002" and D(debt[1].replace("\u00a0", "").replace(",", ".")) > 0
    assert [m.template for m in letters(w.engine, eve)] == ["debt_appeared"]  # half of June unpaid
    # Every letter renders, with the links to the tabs and to «Профиль».
    subject, text, html = templates.render(mine[0].template, {**params_of(mine[0]),
                                                              "public_url": "http://localhost:3000"})
    assert subject == "Открыт приём показаний приборов учёта" and "/readings" in text and "/profile" in html
    # Nothing new since: nothing is sent again, today or tomorrow.
    assert run(w.engine, NOW + timedelta(hours=1)) == 0
    assert run(w.engine, NOW + timedelta(days=1)) == 0


async def _close_november(w: DemoWorld) -> None:
    entries = (("pu-1001-1b-day", "1500.12"), ("pu-1001-1b-night", "700.05"),
               ("pu-1001-2-day", "999990.00"), ("pu-1001-2-night", "412420"))
    ack = await w.gateway.submit_readings(ReadingsSubmission(
        "ctr-1001", date(2026, 12, 1), ReadingSource.CUSTOMER_FORM, tuple(ReadingEntry(k, D(v)) for k, v in entries)),
        secrets.token_urlsafe(12))
    assert {r.status for r in ack.results} == {ReadingStatus.ACCEPTED}


async def test_new_documents_come_in_one_letter_a_day(world, frozen_clock):
    w, ann, _ = world
    run(w.engine, NOW)
    # November's readings close the month in billing: its three documents arrive.
    await _close_november(w)
    frozen_clock.now = NOW + timedelta(minutes=15)
    assert (await sync.sync_all(w.engine, w.gateway)).ok
    assert run(w.engine, frozen_clock.now) == 1
    [letter] = [m for m in letters(w.engine, ann) if m.template == "new_documents"]
    assert sorted(r[2] for r in rows_of(letter)) == ["АП 2611-1001", "СФ 2611-1001", "СЧ 2611-1001"]
    assert {r[0] for r in rows_of(letter)} == {"Д-1001"}
    # An act of reconciliation the same day waits for tomorrow's letter.
    await w.gateway.request_reconciliation("ctr-1002", date(2026, 1, 1), date(2026, 11, 30), secrets.token_urlsafe(16))
    frozen_clock.now = NOW + timedelta(minutes=30)
    assert (await sync.sync_all(w.engine, w.gateway)).ok
    assert run(w.engine, frozen_clock.now) == 0
    tomorrow = NOW + timedelta(days=1)
    frozen_clock.now = tomorrow
    assert run(w.engine, tomorrow) == 1
    latest = [m for m in letters(w.engine, ann) if m.template == "new_documents"][-1]
    assert [r[1] for r in rows_of(latest)] == ["Акт сверки взаиморасчётов"]


async def test_only_the_letters_a_person_chose(world, frozen_clock):
    w, ann, eve = world
    with Session(w.engine) as db:
        assert notifications.preferences(db, eve.id) == notifications.Preferences()
        notifications.save_preferences(db, eve.id, notifications.Preferences(False, False, False, False), NOW)
        notifications.save_preferences(db, ann.id, notifications.Preferences(new_document=False), NOW)
        db.commit()
        assert notifications.preferences(db, ann.id) == notifications.Preferences(False, True, True, True)
    run(w.engine, NOW)
    assert letters(w.engine, eve) == []
    await _close_november(w)
    frozen_clock.now = NOW + timedelta(minutes=15)
    assert (await sync.sync_all(w.engine, w.gateway)).ok
    run(w.engine, frozen_clock.now)
    assert "new_documents" not in [m.template for m in letters(w.engine, ann)]
    # Turned on again later: what came while it was off is not sent.
    with Session(w.engine) as db:
        notifications.save_preferences(db, ann.id, notifications.Preferences(), frozen_clock.now)
        db.commit()
    assert run(w.engine, NOW + timedelta(days=1)) == 0


async def test_two_days_before_the_window_closes_unless_the_readings_are_given(world):
    w, ann, _ = world
    late = datetime(2026, 12, 29, 9, 0)
    run(w.engine, NOW)
    with Session(w.engine) as db:  # a submission of November's readings stands
        db.add(reading_tables.ReadingSubmission(
            idempotency_key="given-1", organisation_key="org-romashka", contract_key="ctr-1001",
            period=date(2026, 11, 1), as_of=date(2026, 12, 1), source="customer_form", user_id=ann.id,
            user_login="ann", created_at=NOW, status=reading_tables.SUBMITTED))
        db.commit()
    assert "readings_window_closing" not in [m.template for m in letters(w.engine, ann)]
    run(w.engine, late)
    assert "readings_window_closing" not in [m.template for m in letters(w.engine, ann)]
    with Session(w.engine) as db:
        db.delete(db.exec(select(reading_tables.ReadingSubmission)).one())
        db.commit()
    run(w.engine, late + timedelta(hours=1))
    [closing] = [m for m in letters(w.engine, ann) if m.template == "readings_window_closing"]
    assert rows_of(closing) == [["Д-1001", "ноябрь 2026", "31.12.2026"]]


async def test_two_processes_at_once_send_each_letter_once(world):
    w, ann, _ = world
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def one() -> None:
        barrier.wait()
        with Session(w.engine, expire_on_commit=False) as db:
            user = db.get(User, ann.id)
            sent.append(notifications.notify_user(db, user, today=NOW.date(), now=NOW, settings=get_settings()))
            db.commit()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(m.template for m in letters(w.engine, ann)) == ["debt_appeared", "readings_window_open"]
    assert sum(sent) == 2


async def test_history_is_not_news(world):
    """Documents received after the binding but issued long ago (a billing system
    that sends a contract's past once it is bound) are not told."""
    import sqlalchemy as sa

    from lkk_app.billing.store import BillingDocumentCopy

    w, ann, _ = world
    later = NOW + timedelta(hours=1)
    with Session(w.engine) as db:
        db.execute(sa.update(BillingDocumentCopy).where(BillingDocumentCopy.contract_key == "ctr-1001")
                   .values(first_synced_at=later))
        db.commit()
        recent = db.exec(select(BillingDocumentCopy).where(
            BillingDocumentCopy.contract_key == "ctr-1001",
            BillingDocumentCopy.issued_on >= NOW.date() - timedelta(days=notifications.NEW_DAYS))).all()
    run(w.engine, later + timedelta(minutes=1))
    [news] = [m for m in letters(w.engine, ann) if m.template == "new_documents"]
    assert sorted(r[2] for r in rows_of(news)) == sorted(r.number for r in recent) and len(recent) < 10
