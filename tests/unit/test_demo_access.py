"""``LKK_DEMO=1``: refused without the demo billing; the ready account and its
contracts; the login window shows it."""

from __future__ import annotations

import pytest
from sqlmodel import Session, SQLModel, select

from lkk_app import db as db_module
from lkk_app.auth import passwords
from lkk_app.billing import background, binding, demo_access
from lkk_app.models import User
from lkk_app.settings import SettingsError, load_settings, reload_settings
from lkk_app.state.login import LoginState
from tests.statekit import make_state


def test_demo_needs_the_demo_billing(tmp_path):
    base = {"LKK_DATA_DIR": str(tmp_path)}
    assert load_settings({**base, "LKK_DEMO": "1"}).demo
    assert not load_settings(base).demo
    with pytest.raises(SettingsError, match="LKK_DEMO=1 shows demo data"):
        load_settings({**base, "LKK_DEMO": "1", "LKK_BILLING_ADAPTER": "http",
                       "LKK_BILLING_URL": "http://127.0.0.1:9", "LKK_BILLING_TOKEN": "t"})
    with pytest.raises(SettingsError, match="LKK_DEMO must be 1 or 0"):
        load_settings({**base, "LKK_DEMO": "maybe"})


@pytest.fixture
def demo_engine(monkeypatch):
    monkeypatch.setenv("LKK_DEMO", "1")
    monkeypatch.setenv("LKK_BCRYPT_COST", "10")
    settings = reload_settings()
    engine = db_module.get_engine()
    SQLModel.metadata.create_all(engine)
    background.seed_demo_if_empty(engine, settings)
    return engine, settings


def test_the_demo_account_has_romashkas_two_contracts_and_is_put_back(demo_engine):
    engine, settings = demo_engine
    user_id = demo_access.ensure_demo_account(engine, settings)
    with Session(engine) as db:
        assert binding.role_in(db, user_id, "org-romashka") == binding.ADMINISTRATOR
        assert sorted(b.contract_key for b in db.exec(select(binding.ContractBinding))) == ["ctr-1001", "ctr-1002"]
        user = db.get(User, user_id)
        assert passwords.verify_password(demo_access.DEMO_PASSWORD, user.password_hash,
                                         secret_key=settings.secret_key)
        # A visitor changed the password and unbound a contract …
        user.password_hash = passwords.hash_password("другой пароль 123", secret_key=settings.secret_key, cost=10)
        db.add(user)
        db.delete(db.get(binding.ContractBinding, "ctr-1002"))
        db.commit()
    # … the next start puts both back, and makes no second account.
    assert demo_access.ensure_demo_account(engine, settings) == user_id
    with Session(engine) as db:
        assert passwords.verify_password(demo_access.DEMO_PASSWORD, db.get(User, user_id).password_hash,
                                         secret_key=settings.secret_key)
        assert db.get(binding.ContractBinding, "ctr-1002") is not None
        assert len(db.exec(select(User)).all()) == 1


@pytest.mark.asyncio
async def test_the_login_window_shows_the_demo_account_only_in_demo(demo_engine, monkeypatch):
    state = make_state(LoginState, "/")
    await LoginState.on_load.fn(state)
    assert (state.demo_login, state.demo_password, state.demo_mailbox) == (
        "demo", demo_access.DEMO_PASSWORD, "/dev/mail")
    monkeypatch.delenv("LKK_DEMO")
    reload_settings()
    plain = make_state(LoginState, "/")
    await LoginState.on_load.fn(plain)
    assert (plain.demo_login, plain.demo_password) == ("", "")
