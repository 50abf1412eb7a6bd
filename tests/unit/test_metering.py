"""«Точки учёта» in the domain (lkk_app/billing/metering.py), on the demo billing's
world of 07.12.2026: the page of a contract's points and its search, a point's
card with its installations and its meter's history (billing's readings and the
cabinet's own), the verification state, and ownership — another organisation's
point, meter or contract is «не найден», like one that does not exist."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from lkk_app.billing import deliveries, metering, sync
from lkk_app.billing.binding import BindingError
from lkk_app.billing.readings import service, tables
from lkk_app.billing.types import ReadingSource, Zone
from lkk_app.models import User
from tests.fixtures.billing_world import NORMAL, NOW, TODAY, DemoWorld

pytestmark = pytest.mark.asyncio
D = Decimal

OFFICE, STORE = "tu-1001-1", "tu-1001-2"


@pytest.fixture
def world(demo_world: DemoWorld):
    """The demo billing of 07.12.2026 copied; ann of «Ромашка» (Д-1001, Д-1002), eve of «Заря» (Д-2001)."""
    ann = demo_world.user("ann", "org-romashka", ("ctr-1001", "ctr-1002"))
    eve = demo_world.user("eve", "org-zarya", ("ctr-2001",))
    return demo_world.gateway, ann, eve


def _submit(engine, user: User, typed: dict, *, now: datetime = NOW, base_id: int | None = None) -> int:
    with Session(engine) as db:
        done = service.submit(db, user_id=user.id, user_login=user.login, contract_key="ctr-1001", typed=typed,
                              idempotency_key=secrets.token_urlsafe(16), today=TODAY, now=now, base_id=base_id)
        db.commit()
        return done.submission_id


def _page(engine, user: User, query: str = "", contract: object = "ctr-1001", **kw) -> metering.PointsPage:
    with Session(engine) as db:
        return metering.points_page(db, user.id, contract, query=query, today=TODAY, **kw)


def _names(page: metering.PointsPage) -> list[str]:
    return [v.point.name for v in page.points]


def _card(engine, user: User, point: object) -> metering.PointCard:
    with Session(engine) as db:
        return metering.point_card(db, user.id, point, today=TODAY)


def _history(engine, user: User, meter: object) -> tuple:
    with Session(engine) as db:
        return metering.meter_history(db, user.id, meter)


def _not_found(call) -> str:
    with pytest.raises(BindingError) as caught:
        call()
    return caught.value.code


# --------------------------------------------------------------------------- the page


async def test_the_page_lists_the_points_with_their_current_meters(world, engine):
    _, ann, _ = world
    page = _page(engine, ann)
    assert page.contract.key == "ctr-1001" and page.contract.number == "Д-1001"
    assert page.total == 2 and not page.billing_down and page.as_of is not None
    assert [(v.point.key, v.point.name, v.meter.serial, v.installation.key) for v in page.points] == [
        (OFFICE, "Офис", "45678901", "ust-1001-1b"), (STORE, "Склад", "41234567", "ust-1001-2")]
    # The other contract of the organisation has its own points.
    assert _names(_page(engine, ann, contract="ctr-1002")) == ["Котельная", "Цех"]  # by name


@pytest.mark.parametrize("query,names", [
    ("Склад", ["Склад"]),
    ("офис 12", ["Офис"]),  # a part of the address
    ("стр. 3", ["Склад"]),
    ("Демонстрационная", ["Офис", "Склад"]),
    ("41234567", ["Склад"]),  # the serial of a meter standing there
    ("45678901", ["Офис"]),
    ("30112233", ["Офис"]),  # the serial of the meter taken off on 14.11
    ("4567", ["Офис", "Склад"]),  # a part of a serial: 45678901, 41234567
    ("меркурий 230", ["Офис"]),  # the old meter's model
    ("artm-03", ["Склад"]),
    ("12345678", []),  # the meter of another organisation's point
    ("Контора", []),  # another organisation's point
    ("нет такой", []),
])
async def test_search_by_name_address_and_meter(world, engine, query, names):
    _, ann, _ = world
    page = _page(engine, ann, query)
    assert _names(page) == names and page.total == len(names)


@pytest.mark.parametrize("query", ["СКЛАД", "склад", "сКлАд", "  Склад  ", "ДЕМОНСТРАЦИОННАЯ, Д. 1, СТР"])
async def test_search_ignores_the_case_of_cyrillic_letters_and_spaces_around(world, engine, query):
    _, ann, _ = world
    assert _names(_page(engine, ann, query)) == ["Склад"]


@pytest.mark.parametrize("query", ["%", "_", "%%", "Оф%с", "Офи_", "д._1", "\\", "%склад"])
async def test_wildcards_in_the_query_are_plain_characters(world, engine, query):
    _, ann, _ = world
    page = _page(engine, ann, query)
    assert (page.points, page.total) == ((), 0)


async def test_an_empty_or_blank_query_lists_every_point(world, engine):
    _, ann, _ = world
    for query in ("", "   "):
        assert _names(_page(engine, ann, query)) == ["Офис", "Склад"]


async def test_paging(world, engine):
    _, ann, _ = world
    assert (_names(page := _page(engine, ann, limit=1)), page.total) == (["Офис"], 2)
    assert (_names(page := _page(engine, ann, limit=1, offset=1)), page.total) == (["Склад"], 2)
    assert (_names(page := _page(engine, ann, limit=1, offset=2)), page.total) == ([], 2)
    # Out-of-range numbers are brought into range: at least one row, from the start.
    assert _names(_page(engine, ann, limit=0)) == ["Офис"]
    assert _names(_page(engine, ann, limit=-5, offset=-3)) == ["Офис"]
    assert _names(_page(engine, ann, "Демонстрационная", limit=10_000)) == ["Офис", "Склад"]


# --------------------------------------------------------------------------- the card and the history


async def test_the_card_has_the_installations_newest_first(world, engine):
    _, ann, _ = world
    card = _card(engine, ann, OFFICE)
    assert card.contract.key == "ctr-1001" and card.view.point.name == "Офис"
    assert card.view.meter.serial == "45678901" and card.view.installation.key == "ust-1001-1b"
    new, old = card.installations
    assert (new.installation.key, new.meter.serial) == ("ust-1001-1b", "45678901")
    assert (old.installation.key, old.meter.serial) == ("ust-1001-1a", "30112233")
    assert new.installation.installed_on == date(2026, 11, 14) == old.installation.removed_on
    assert new.installation.removed_on is None and new.installation.final == ()
    assert old.installation.installed_on == date(2023, 12, 1)
    assert {v.register_key: v.value for v in new.installation.initial} == {
        "pu-1001-1b-day": D("0.12"), "pu-1001-1b-night": D("0.05")}
    # The old meter's final values: its last reading (01.11) and 13 days of November.
    assert {v.register_key: v.value for v in old.installation.final} == {
        "pu-1001-1a-day": D("113810.77"), "pu-1001-1a-night": D("49393.33")}


async def test_the_history_of_a_new_meter_holds_what_was_given_in_the_cabinet(world, engine):
    _, ann, _ = world
    assert _card(engine, ann, OFFICE).history == ()  # billing has no reading of it yet
    _submit(engine, ann, NORMAL)
    history = _card(engine, ann, OFFICE).history
    assert [(r.register_key, r.zone, r.value, r.status, r.source, r.given_by, r.given_at, r.as_of)
            for r in history] == [
        ("pu-1001-1b-day", Zone.DAY, D("1500.12"), tables.SUBMITTED, ReadingSource.CUSTOMER_FORM, "ann", NOW,
         date(2026, 12, 1)),
        ("pu-1001-1b-night", Zone.NIGHT, D("700.05"), tables.SUBMITTED, ReadingSource.CUSTOMER_FORM, "ann", NOW,
         date(2026, 12, 1)),
    ]
    assert history[0].consumption == D("1500.00") and history[1].consumption == D("700.00")


async def test_the_history_is_newest_first_with_billing_readings_after_the_cabinet_values(world, engine):
    _, ann, _ = world
    first = _submit(engine, ann, NORMAL)
    later = NOW + timedelta(hours=2)
    _submit(engine, ann, {**NORMAL, "pu-1001-2-day": "999 995,00"}, now=later, base_id=first)
    history = _card(engine, ann, STORE).history
    head = [(r.as_of, r.register_key, r.value, r.status, r.given_at) for r in history[:4]]
    assert head == [
        (date(2026, 12, 1), "pu-1001-2-day", D("999995.00"), tables.SUBMITTED, later),
        (date(2026, 12, 1), "pu-1001-2-night", D("412420.00"), tables.SUBMITTED, later),
        (date(2026, 12, 1), "pu-1001-2-day", D("999990.00"), tables.REPLACED, NOW),
        (date(2026, 12, 1), "pu-1001-2-night", D("412420.00"), tables.REPLACED, NOW),
    ]
    billing = history[4:]
    assert billing[0].as_of == date(2026, 11, 1) and billing[0].register_key == "pu-1001-2-day"
    assert billing[0].value == D("999850.00") and billing[1].value == D("412345.60")
    assert {(r.status, r.given_by, r.given_at) for r in billing} == {(tables.ACCEPTED, "", None)}
    dates = [r.as_of for r in history]
    assert dates == sorted(dates, reverse=True)
    assert len(billing) == 2 * 24  # two zones, 24 months
    # The same rows by the meter's key.
    meter, rows = _history(engine, ann, "pu-1001-2")
    assert meter.serial == "41234567" and rows == history


async def test_a_value_accepted_and_copied_back_from_billing_is_shown_once(world, engine):
    gateway, ann, _ = world
    _submit(engine, ann, NORMAL)
    with Session(engine) as db:
        claimed = deliveries.DELIVERIES.claim(db)
        db.commit()
    assert [await deliveries.deliver_one(pk, gateway, engine) for pk in claimed] == ["done"]
    accepted = [r for r in _card(engine, ann, STORE).history if r.as_of == date(2026, 12, 1)]
    assert [(r.register_key, r.status, r.given_by) for r in accepted] == [
        ("pu-1001-2-day", tables.ACCEPTED, "ann"), ("pu-1001-2-night", tables.ACCEPTED, "ann")]
    assert (await sync.sync_all(engine, gateway)).ok  # billing's copy of them arrives
    copied = [r for r in _card(engine, ann, STORE).history if r.as_of == date(2026, 12, 1)]
    assert [(r.register_key, r.value, r.status, r.given_by) for r in copied] == [
        ("pu-1001-2-day", D("999990.00"), tables.ACCEPTED, ""),
        ("pu-1001-2-night", D("412420.00"), tables.ACCEPTED, "")]


async def test_the_history_of_the_removed_meter(world, engine):
    _, ann, _ = world
    meter, rows = _history(engine, ann, "pu-1001-1a")
    assert meter.serial == "30112233"
    assert rows[0].as_of == date(2026, 11, 1) and rows[0].register_key == "pu-1001-1a-day"
    assert rows[0].value == D("112345.67") and rows[1].value == D("48765.43")
    assert {r.status for r in rows} == {tables.ACCEPTED}


# --------------------------------------------------------------------------- verification


async def test_verification_state(world, engine):
    _, ann, _ = world
    office, store = (v.meter for v in _page(engine, ann).points)
    # «Склад»: the meter is good for years, its current transformers for 45 days.
    assert store.next_verification > TODAY + timedelta(days=365)
    assert metering.verification_due(store) == TODAY + timedelta(days=45)
    assert metering.verification_state(store, TODAY) == metering.SOON == "soon"
    assert metering.verification_state(store, TODAY - timedelta(days=45)) == "soon"  # 90 days: soon
    assert metering.verification_state(store, TODAY - timedelta(days=46)) == metering.VERIFIED == "ok"
    assert metering.verification_state(store, TODAY + timedelta(days=44)) == "soon"
    assert metering.verification_state(store, TODAY + timedelta(days=45)) == metering.EXPIRED == "expired"
    assert metering.verification_state(store, TODAY + timedelta(days=400)) == "expired"
    # «Офис»: a meter put in last month, no transformers.
    assert metering.verification_due(office) == office.next_verification
    assert metering.verification_state(office, TODAY) == "ok"
    assert metering.verification_state(office, office.next_verification) == "expired"


# --------------------------------------------------------------------------- ownership


async def test_another_organisations_point_meter_and_contract_are_not_found(world, engine):
    _, ann, eve = world
    with Session(engine) as db:
        assert metering.require_point(db, ann.id, OFFICE).name == "Офис"
        meter, installations = metering.require_meter(db, ann.id, "pu-1001-1a")
        assert meter.serial == "30112233" and [i.key for i in installations] == ["ust-1001-1a"]
        assert metering.require_point(db, eve.id, "tu-2001-1").name == "Контора"
        assert _not_found(lambda: metering.require_point(db, eve.id, OFFICE)) == "point.not_found"
        assert _not_found(lambda: metering.require_meter(db, eve.id, "pu-1001-2")) == "meter.not_found"
        assert _not_found(lambda: metering.require_meter(db, ann.id, "pu-2001-1")) == "meter.not_found"
    assert _not_found(lambda: _page(engine, eve, contract="ctr-1001")) == "contract.not_found"
    assert _not_found(lambda: _card(engine, eve, OFFICE)) == "point.not_found"
    assert _not_found(lambda: _history(engine, eve, "pu-1001-1a")) == "meter.not_found"
    assert _names(_page(engine, eve, contract="ctr-2001")) == ["Контора"]


@pytest.mark.parametrize("key", [None, 1001, 10.5, ["tu-1001-1"], {"key": "tu-1001-1"}, b"tu-1001-1", "",
                                 "t" * 41, "tu-1001-1" + " " * 40, "tu-9999-1", "pu-1001-2", "ctr-1001"])
async def test_bad_and_unknown_keys_are_not_found_the_same_way(world, engine, key):
    _, ann, _ = world
    with Session(engine) as db:
        assert _not_found(lambda: metering.require_point(db, ann.id, key)) == "point.not_found"
        if key != "pu-1001-2":
            assert _not_found(lambda: metering.require_meter(db, ann.id, key)) == "meter.not_found"
        assert _not_found(lambda: metering.point_card(db, ann.id, key, today=TODAY)) == "point.not_found"
        if key != "ctr-1001":
            assert _not_found(lambda: metering.points_page(db, ann.id, key, today=TODAY)) == "contract.not_found"


async def test_bad_keys_are_refused_before_any_lookup(world, engine, monkeypatch):
    _, ann, _ = world
    looked_up: list[object] = []
    monkeypatch.setattr(metering.store, "get_record", lambda db, kind, key: looked_up.append(key))
    with Session(engine) as db:
        for key in (None, 1001, b"tu-1001-1", "", "t" * 41, "x" * 100_000):
            assert _not_found(lambda: metering.require_point(db, ann.id, key)) == "point.not_found"
            assert _not_found(lambda: metering.require_meter(db, ann.id, key)) == "meter.not_found"
        assert looked_up == []
        assert _not_found(lambda: metering.require_point(db, ann.id, "t" * 40)) == "point.not_found"
    assert looked_up == ["t" * 40]  # 40 characters is a key that may exist
