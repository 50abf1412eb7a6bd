"""The «Договоры» states' handlers called directly: the list is the user's
organisation's only, the card refuses another organisation's key, and when the
last sync could not reach billing the copy is shown with its date and a notice."""

from __future__ import annotations

from datetime import datetime

import pytest

from lkk_app import db as db_module
from lkk_app.auth import sessions, users
from lkk_app.billing import binding, store
from lkk_app.billing.types import ChangeKind
from lkk_app.settings import reload_settings
from lkk_app.state.contracts import BindPanel, ContractsState
from tests.statekit import make_state, redirect_path, sibling
from tests.unit.test_binding import contract

pytestmark = pytest.mark.asyncio


@pytest.fixture
def app_engine(db_url, monkeypatch):
    monkeypatch.setenv("REFLEX_DB_URL", db_url)
    monkeypatch.setenv("LKK_BCRYPT_COST", "10")
    reload_settings()
    db_module.reset_engine()
    yield db_module.get_engine()
    db_module.reset_engine()


def _user(login: str, contracts: list[str], organisation: str) -> str:
    with db_module.session_scope() as db:
        user = users.create_user(db, login=login, email=f"{login}@example.com",
                                 password="Длинный пароль 123", confirmed=True)
        if contracts:
            binding.bind(db, user_id=user.id, organisation_key=organisation, contract_keys=contracts)
        return sessions.mint_session(db, user_id=user.id, ip="127.0.0.1", user_agent="pytest")


@pytest.fixture
def copy(app_engine):
    with db_module.session_scope() as db:
        store.store_records(db, ChangeKind.CONTRACTS, [
            contract("ctr-1", "org-a", "Д-1"), contract("ctr-2", "org-a", "Д-2"),
            contract("ctr-9", "org-b", "Д-9")], datetime(2026, 12, 4, 9, 0))


async def test_the_list_and_card_are_the_organisations_own(copy):
    token = _user("ann", ["ctr-1", "ctr-2"], "org-a")
    _user("eve", ["ctr-9"], "org-b")
    state = make_state(ContractsState, "/contracts", cookie=f"lkk_session={token}")
    await ContractsState.on_load.fn(state)
    assert [r.number for r in state.rows] == ["Д-1", "Д-2"] and state.total == 2
    assert state.as_of == "04.12.2026 12:00" and state.billing_down is False  # Moscow time
    await ContractsState.open_card.fn(state, "ctr-9")
    assert state.card_open is False and state.notice == "Договор не найден"
    await ContractsState.open_card.fn(state, "ctr-2")
    assert state.card_open and state.card.number == "Д-2" and state.card_admin
    assert state.card.curator_name == "Иванова И. И." and state.card.power == "120 кВт"


async def test_billing_unreachable_shows_the_copy_with_a_notice(copy):
    token = _user("ann", ["ctr-1"], "org-a")
    with db_module.session_scope() as db:
        state_row = store.sync_state(db, ChangeKind.CONTRACTS)
        state_row.last_error = "unavailable:connect"
        db.add(state_row)
    state = make_state(ContractsState, "/contracts", cookie=f"lkk_session={token}")
    await ContractsState.on_load.fn(state)
    assert state.billing_down is True and [r.number for r in state.rows] == ["Д-1"] and state.as_of


async def test_without_a_session_the_page_sends_to_the_login_window(copy):
    state = make_state(ContractsState, "/contracts")
    assert redirect_path(await ContractsState.on_load.fn(state)).startswith("/?next=")
    assert state.rows == []


async def test_the_kpp_field_is_asked_only_of_a_company(copy):
    token = _user("ann", [], "org-a")
    state = make_state(ContractsState, "/contracts", cookie=f"lkk_session={token}")
    panel = sibling(state, BindPanel)
    BindPanel.set_inn.fn(panel, "7701000001")
    assert panel.kpp_needed is True
    BindPanel.set_inn.fn(panel, "771200000003")
    assert panel.kpp_needed is False
