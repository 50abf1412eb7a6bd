"""«Показания» and «Точки учёта» handlers called directly: the form as the tab
shows it, the live preview of one meter, a refusal that keeps what was typed,
a double click that makes one submission, and the points list and card."""

from __future__ import annotations

from datetime import datetime

import pytest
import pytest_asyncio
from sqlmodel import Session, select

from lkk_app import db as db_module
from lkk_app.auth import sessions, users
from lkk_app.billing import binding, sync
from lkk_app.billing.adapters.demo import DemoBilling, reset
from lkk_app.billing.readings import tables
from lkk_app.core import clock
from lkk_app.settings import reload_settings
from lkk_app.state.points import PointsState
from lkk_app.state.readings import ReadingsState
from tests.statekit import make_state, redirect_path, run_events

pytestmark = pytest.mark.asyncio
NOW = datetime(2026, 12, 7, 9, 0, 0)


@pytest_asyncio.fixture
async def tab(db_url, monkeypatch):
    """A logged-in tab of an administrator of org-romashka (Д-1001, Д-1002), on
    the demo billing of 07.12.2026 copied into the cabinet."""
    monkeypatch.setenv("REFLEX_DB_URL", db_url)
    monkeypatch.setenv("LKK_BCRYPT_COST", "10")
    monkeypatch.setattr(clock, "utcnow", lambda: NOW)
    reload_settings()
    db_module.reset_engine()
    engine = db_module.get_engine()
    with Session(engine) as db:
        reset(db, NOW.date())
        db.commit()
    assert (await sync.sync_all(engine, DemoBilling(engine, supplier="x"))).ok
    with db_module.session_scope() as db:
        user = users.create_user(db, login="ann", email="ann@example.com", password="Длинный пароль 123",
                                 confirmed=True)
        binding.bind(db, user_id=user.id, organisation_key="org-romashka", contract_keys=["ctr-1001", "ctr-1002"])
        token = sessions.mint_session(db, user_id=user.id, ip="127.0.0.1", user_agent="pytest")
    yield f"lkk_session={token}"
    db_module.reset_engine()


def _submissions() -> list[tables.ReadingSubmission]:
    with db_module.session_scope() as db:
        return list(db.exec(select(tables.ReadingSubmission)).all())


async def _readings(cookie: str) -> ReadingsState:
    state = make_state(ReadingsState, "/readings", cookie=cookie)
    await ReadingsState.on_load.fn(state)
    return state


async def test_the_form_shows_the_contracts_meters_and_window(tab):
    state = await _readings(tab)
    assert [c.number for c in state.choices] == ["Д-1001", "Д-1002"] and state.contract_key == "ctr-1001"
    assert state.window_text == "Приём показаний за ноябрь 2026: с 01.12 по 31.12. Показания на 01.12.2026."
    assert [g.point for g in state.groups] == ["Офис", "Склад"] and state.editable and state.form_key
    store = state.groups[1]
    assert store.coefficient == "40 (ТТ 200/5)" and [r.previous for r in store.registers] == [
        "999\u00a0850,00", "412\u00a0345,60"]
    assert state.groups[0].registers[0].previous_on == "начальное, 14.11.2026"
    await ReadingsState.choose_contract.fn(state, "ctr-1002")
    assert state.contract_key == "ctr-1002" and not state.window_open and not state.editable
    assert state.window_text == "Приём показаний за декабрь 2026 откроется 25.12.2026."
    assert [r.point for r in state.remote_rows] == ["Котельная"]


async def test_a_typed_value_shows_its_consumption_formula_and_warning(tab):
    state = await _readings(tab)
    ReadingsState.preview.fn(state, "pu-1001-2-day", "20")
    ReadingsState.preview.fn(state, "pu-1001-2-night", "412 420")
    day, night = state.groups[1].registers
    assert day.formula.startswith("(20,00 + 1\u00a0000\u00a0000 − 999\u00a0850,00) × 40 + 2 % (")
    assert day.consumption.endswith("кВт·ч") and night.warnings == []
    [warning] = day.warnings
    assert warning.token == "reading.rollover:pu-1001-2-day" and warning.confirm == "Подтверждаю: переход через ноль"
    ReadingsState.preview.fn(state, "nope", "1")  # not a register of the form: nothing happens
    ReadingsState.preview.fn(state, "pu-1001-2-day", "12,3,4")
    assert state.groups[1].registers[0].error.startswith("Введите число")


async def test_a_refusal_keeps_the_values_and_a_double_click_makes_one_submission(tab):
    state = await _readings(tab)
    form = {"form_key": state.form_key, "v:pu-1001-2-day": "20", "v:pu-1001-2-night": "412420"}
    await run_events(ReadingsState.submit.fn(state, form))
    assert state.form_message.startswith("Проверьте предупреждения") and _submissions() == []
    day = state.groups[1].registers[0]
    assert day.value == "20" and day.error == "Проверьте показание и подтвердите его отметкой ниже"
    ticked = {**form, "w:reading.rollover:pu-1001-2-day": "on"}
    await run_events(ReadingsState.submit.fn(state, ticked))
    await run_events(ReadingsState.submit.fn(state, ticked))  # the second click of a double click
    [stored] = _submissions()
    assert stored.status == tables.SUBMITTED and state.done_message.startswith("Показания переданы")
    assert state.pending and state.base_id == stored.id and state.form_key != form["form_key"]


async def test_without_a_session_the_tabs_send_to_the_login_window(tab):
    for cls, path in ((ReadingsState, "/readings"), (PointsState, "/points")):
        state = make_state(cls, path)
        assert redirect_path(await cls.on_load.fn(state)).startswith("/?next=")


async def test_the_points_tab_lists_searches_and_opens_a_card(tab):
    state = make_state(PointsState, "/points", cookie=tab, query="contract=ctr-1001")
    await PointsState.on_load.fn(state)
    assert [r.name for r in state.rows] == ["Офис", "Склад"] and state.contract_number == "Д-1001"
    assert state.rows[1].check_state == "soon" and state.rows[1].coefficient == "40 (ТТ 200/5)"
    await PointsState.search.fn(state, {"query": "30112233"})
    assert [r.name for r in state.rows] == ["Офис"]
    await PointsState.open_point.fn(state, "tu-1001-2")
    assert state.card_open and state.card.meter == "41234567" and len(state.card.transformers) == 3
    assert len(state.history_shown) == 24 and state.history_more == 24
    PointsState.show_all_history.fn(state)
    assert len(state.history_shown) == 48
    await PointsState.open_point.fn(state, "tu-2001-1")  # another organisation's point
    assert not state.card_open and state.notice == "Точка учёта не найдена"
    await PointsState.choose_contract.fn(state, "ctr-2001")  # not theirs: the list stays theirs
    assert state.contract_key in ("ctr-1001", "ctr-1002")
