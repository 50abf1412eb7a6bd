"""Every event handler, called by name over a raw websocket, the way an
attacker's script would (any connected client can call any handler).

The handlers are enumerated from the app's state tree, so a new handler is
attacked without editing this file; a new *public* state (one that does not
derive from ``AuthState``) must be classified in ``PUBLIC_STATES`` first.
"""

from __future__ import annotations

import inspect
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.attack.conftest import CAPTCHA_CODE, PASSWORD, Account, assert_alive
from tests.attack.reflex_client import NO_PAGE, ROOT_STATE, frontend_events, state_vars

# States anyone may use without a session, with what their handlers may do.
PUBLIC_STATES = {
    "RegisterState": "creates accounts (captcha, validation); fuzzed in test_fuzz.py",
    "ForgotState": "queues a recovery letter (neutral answer, limits); fuzzed in test_fuzz.py",
    "SupportState": "reads settings",
    "ConfirmFailedState": "maps a reason code to a fixed text",
    "ErrorBanner": "shows or hides a fixed message in the caller's own tab",
}
ATTACKER_FORM = {
    "login": "attacker-login", "email": "attacker@evil.example", "phone": "+79990001122",
    "password": "Злой пароль 12345", "password_confirm": "Злой пароль 12345",
    "current_password": PASSWORD,  # the victim's real password: still no session
    "new_password": "Злой пароль 12345", "code": CAPTCHA_CODE,
}


@dataclass(frozen=True)
class Handler:
    cls: type
    name: str

    @property
    def event(self) -> str:
        return f"{self.cls.get_full_name()}.{self.name}"

    @property
    def params(self) -> list[inspect.Parameter]:
        fn = self.cls.event_handlers[self.name].fn
        return list(inspect.signature(fn).parameters.values())[1:]

    def __repr__(self) -> str:
        return f"{self.cls.__name__}.{self.name}"


def _walk(cls):
    yield cls
    for sub in sorted(cls.get_substates(), key=lambda s: s.get_full_name()):
        yield from _walk(sub)


@pytest.fixture(scope="module")
def app_states(db_env):
    import reflex as rx

    import lkk_app.lkk_app  # noqa: F401 - registers every page and state

    return list(_walk(rx.State))


@pytest.fixture(scope="module")
def protected(app_states) -> list[Handler]:
    from lkk_app.state.base import AuthState

    out = [Handler(cls, name) for cls in app_states if issubclass(cls, AuthState)
           for name in cls.event_handlers]
    names = {repr(h) for h in out}
    assert {"PhonePanel.save_phone", "PasswordPanel.change_password", "SessionsPanel.end_session",
            "ChangePasswordState.submit"} <= names, names
    return out


def _route_of(cls) -> str:
    from lkk_app.lkk_app import app

    for route in app._unevaluated_pages:
        path = "/" if route == "index" else "/" + route
        for handler in app.get_load_events(path) or []:
            if getattr(handler, "fn", None) and handler.fn.__qualname__.split(".")[0] == cls.__name__:
                return path
    return "/profile"


def payloads(handler: Handler, victim_session_ids: list[int]) -> list[dict]:
    """Plausible payloads from the handler's signature."""
    from lkk_app.state.base import AuthState
    from lkk_app.state.profile import ProfileState

    options: dict[str, list] = {}
    for p in handler.params:
        ann = str(p.annotation)
        if p.name == "form_data" or ann.startswith("dict") and p.name != "vars":
            options[p.name] = [dict(ATTACKER_FORM)]
        elif p.name == "vars":
            options[p.name] = [{f"{ProfileState.get_full_name()}.login": "hacked",
                                f"{AuthState.get_full_name()}._restricted_session": False}]
        elif p.name == "var_name":
            options[p.name] = ["login", "_restricted_session", "email_confirmed"]
        elif p.name in ("key", "contract_key"):
            # Billing keys of the demo data: contracts of other organisations.
            options[p.name] = ["ctr-1001", "ctr-2001", "ctr-3001", "hacked"]
        elif ann == "int" or p.name.endswith("_id"):
            options[p.name] = [*victim_session_ids, 0, -1]
        elif ann == "bool":
            options[p.name] = [True]
        elif ann.startswith("list"):
            options[p.name] = [[]]
        else:
            options[p.name] = ["hacked"]
    combos: list[dict] = [{}]
    for name, values in options.items():
        combos = [{**c, name: v} for c in combos for v in values]
    return combos


def _victim_rows(dump: dict, victim: Account) -> dict:
    """The victim's account, sessions, one-time tokens and letters."""
    return {
        "lkk_user": [r for r in dump["lkk_user"] if r["id"] == victim.id],
        **{table: [r for r in rows if r.get("user_id") == victim.id]
           for table, rows in dump.items() if table != "lkk_user"},
    }


def _session_ids(db_env, account: Account) -> list[int]:
    import sqlalchemy as sa

    from lkk_app.db import session_scope
    from lkk_app.models import UserSession

    with session_scope() as s:
        return list(s.exec(sa.select(UserSession.id).where(UserSession.user_id == account.id)).scalars())


def _live(token: str) -> bool:
    from lkk_app.db import session_scope
    from lkk_app.auth import sessions

    with session_scope() as s:
        return sessions.resolve_session(s, token) is not None


def _expired_token(account: Account, mint) -> str:
    import sqlalchemy as sa

    from lkk_app.db import session_scope
    from lkk_app.models import UserSession
    from lkk_app.auth import sessions
    from lkk_app.core import clock

    token = mint(account)
    with session_scope() as s:
        s.exec(sa.update(UserSession).where(UserSession.token_hash == sessions.hash_token(token))
               .values(expires_at=clock.utcnow() - timedelta(minutes=1)))
    return token


def _revoked_token(account: Account, mint) -> str:
    from lkk_app.db import session_scope
    from lkk_app.auth import sessions

    token = mint(account)
    with session_scope() as s:
        sessions.revoke_session(s, token)
    return token


def _leaks(text: str, victim: Account) -> list[str]:
    from lkk_app.auth.validation import format_phone

    return [label for label, value in (("login", victim.login), ("e-mail", victim.email),
                                       ("phone", victim.phone), ("phone digits", victim.phone[2:]),
                                       ("phone as shown", format_phone(victim.phone)))
            if value in text]


CREDENTIALS = ["none", "forged", "revoked", "expired", "restricted", "other-user"]


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_protected_handlers_refuse_without_a_valid_session(
        credential, protected, client, make_account, mint, snapshot, app_server, db_env):
    """Each protected handler, each plausible payload, with no / a forged / a
    revoked / an expired / a restricted session, or another user's session
    aimed at the victim's rows: nothing of the victim changes or comes back."""
    victim = make_account("victim")
    victim_token = mint(victim)
    victim_ids = _session_ids(db_env, victim)
    attacker = make_account("mallory")
    cookie = {
        "none": None,
        "forged": victim.cookie(secrets.token_urlsafe(32)),
        "revoked": victim.cookie(_revoked_token(victim, mint)),
        "expired": victim.cookie(_expired_token(victim, mint)),
        "restricted": victim.cookie(mint(victim, restricted=True)),
        "other-user": attacker.cookie(mint(attacker)),
    }[credential]
    whole_db = credential != "other-user"
    before = snapshot()
    c = client(cookie=cookie)
    calls = 0
    for handler in protected:
        if credential == "restricted" and handler.cls.__name__ == "ChangePasswordState":
            continue  # the one page a restricted session may use (fuzzed in test_fuzz.py)
        path = _route_of(handler.cls)
        c.hydrate(path)
        for payload in payloads(handler, victim_ids):
            c.call(handler.event, payload, path=path)
            calls += 1
        c.hydrate(path)
    assert calls >= len(protected)
    if credential != "other-user":
        # The handlers did run, and sent the caller away.
        assert any(e["name"] == "_redirect" for e in frontend_events(c.updates)), "no handler answered"
    after = snapshot()
    if whole_db:
        assert after == before, "the database changed"
    else:
        assert _victim_rows(after, victim) == _victim_rows(before, victim), "the victim's rows changed"
    assert _live(victim_token), "the victim's session was ended"
    leaks = _leaks(c.text(), victim)
    assert not leaks, f"victim's {leaks} sent to a client without the victim's session"
    assert c.connected
    assert_alive(app_server)


def test_every_state_is_classified(app_states):
    """A state outside AuthState is reachable by anyone: it must be listed
    above with what it does, so that someone decides it is public."""
    from lkk_app.state.base import AuthState

    ours = [cls for cls in app_states if cls.__module__.startswith("lkk_app.")]
    unclassified = [cls.__name__ for cls in ours
                    if not issubclass(cls, AuthState) and cls.__name__ not in PUBLIC_STATES]
    assert not unclassified, f"classify these states (AuthState or PUBLIC_STATES): {unclassified}"


def test_public_handlers_never_return_account_data(app_states, client, make_account, mint, app_server):
    """Anonymous calls of the public states' handlers, and of Reflex's own."""
    from lkk_app.state.base import AuthState

    victim = make_account("pubvictim")
    mint(victim)
    c = client()
    for cls in app_states:
        if issubclass(cls, AuthState):
            continue
        path = _route_of(cls) if cls.__module__.startswith("lkk_app.") else NO_PAGE
        for name in cls.event_handlers:
            handler = Handler(cls, name)
            if handler.event.endswith(".hydrate_and_load") or name == "on_load_internal":
                c.hydrate(path)
                continue
            for payload in payloads(handler, [])[:3]:
                c.call(handler.event, payload, path=path)
    assert not _leaks(c.text(), victim)
    assert c.connected
    assert_alive(app_server)


# ---------------------------------------------------------------------------- setting what may not be set


def _profile_of(c) -> dict:
    from lkk_app.state.profile import ProfileState

    return state_vars(c.hydrate("/profile"), ProfileState.get_full_name())


def test_hand_made_setters_and_var_writes_change_nothing(client, make_account, mint, snapshot, app_server,
                                                          server_log):
    """There are no auto-setters: ``set_<var>`` names, private methods,
    ``setvar``, ``update_vars_internal`` and hydrate's ``vars`` cannot write
    account data, backend vars or the session's restriction."""
    from lkk_app.state.base import AuthState
    from lkk_app.state.change_password import ChangePasswordState
    from lkk_app.state.profile import PhonePanel, ProfileState
    from lkk_app.state.register import RegisterState

    attacker = make_account("setter")
    victim = make_account("settervictim")
    token = mint(attacker)
    restricted_token = mint(attacker, restricted=True)
    profile, auth, change = (ProfileState.get_full_name(), AuthState.get_full_name(),
                             ChangePasswordState.get_full_name())
    register = RegisterState.get_full_name()
    names = [f"{profile}.set_{v}" for v in ("login", "email", "email_confirmed", "phone", "loaded",
                                           "_user_id", "_restricted_session")]
    names += [f"{auth}.set__restricted_session", f"{change}.set_login", f"{register}.set__captcha_id",
              f"{profile}._fill", f"{profile}._clear", f"{profile}._current_user", f"{profile}.__init__",
              f"{profile}.router", f"{profile}.get_state", f"{ROOT_STATE}.__class__",
              "lkk_app.state.profile.ProfileState.save_phone", f"{profile}..save_phone", ""]
    hostile_vars = {f"{profile}.login": "hacked", f"{profile}.email": "hacked@evil.example",
                    f"{profile}.loaded": True, f"{auth}._restricted_session": False,
                    f"{register}._captcha_id": "x", f"{change}.login": "hacked"}

    before = snapshot()
    for cookie in (attacker.cookie(token), attacker.cookie(restricted_token)):
        c = client(cookie=cookie)
        c.hydrate("/profile")
        for name in names:
            c.call(name, {"value": victim.login, "user": {"id": victim.id, "login": victim.login}},
                   path="/profile")
        for var in ("login", "email", "email_confirmed", "loaded", "_restricted_session", "_user_id"):
            c.call(f"{profile}.setvar", {"var_name": var, "value": True if var == "loaded" else "hacked"},
                   path="/profile")
        c.call(f"{ROOT_STATE}.reflex___state____update_vars_internal_state.update_vars_internal",
               {"vars": hostile_vars}, path="/profile")
        c.emit(f"{ROOT_STATE}.hydrate_and_load", {"vars": hostile_vars}, path="/profile")
        seen = _profile_of(c)
        assert "hacked" not in c.text() and victim.login not in str(seen), seen
        if cookie.endswith(restricted_token):
            # Still restricted: nothing but «Смена пароля».
            assert not seen.get("loaded") and seen.get("login", "") == "", seen
            ups = c.call(f"{PhonePanel.get_full_name()}.save_phone",
                         {"form_data": {"phone": "+79161112233"}}, path="/profile")
            assert any(e["name"] == "_redirect" and "/change-password" in str(e["payload"])
                       for e in frontend_events(ups)), ups
        else:
            assert seen.get("login") == attacker.login and seen.get("email") == attacker.email, seen
    assert snapshot() == before
    assert_alive(app_server)
    log = server_log.new()
    assert "No registered handler" in log, "the hand-made names did reach the server"
    # Reflex logged those events with their handshake headers: the cookie is masked.
    assert "'cookie': '[redacted]'" in log
    for secret in (token, restricted_token):
        assert secret not in log, "a session token was written to the server log"


def test_extra_form_keys_are_ignored(client, make_account, mint, snapshot, db_env):
    """A handler that receives keys it does not expect (user id, login, hash…)
    uses only its own fields, and only on the session's own account."""
    from lkk_app.db import session_scope
    from lkk_app.auth import passwords, users
    from lkk_app.settings import get_settings
    from lkk_app.state.profile import PasswordPanel, PhonePanel

    attacker = make_account("extra")
    victim = make_account("extravictim")
    token = mint(attacker)
    c = client(cookie=attacker.cookie(token))
    c.hydrate("/profile")
    extra = {"user_id": victim.id, "id": victim.id, "login": victim.login, "email": "hacked@evil.example",
             "email_confirmed_at": None, "password_hash": "$2b$04$hacked", "must_change_password": True,
             "keep_session_token": "x", "session_token": "x"}
    before = snapshot()
    c.call(f"{PhonePanel.get_full_name()}.save_phone", {"form_data": {**extra, "phone": "8 (912) 765-43-21"}},
           path="/profile")
    new_password = "Новый стойкий пароль 99"
    c.call(f"{PasswordPanel.get_full_name()}.change_password", {"form_data": {**extra, "current_password": PASSWORD,
                                                        "new_password": new_password,
                                                        "password_confirm": new_password}}, path="/profile")
    after = snapshot()
    assert _victim_rows(after, victim) == _victim_rows(before, victim)
    with session_scope() as s:
        me = users.get_user(s, attacker.id)
        assert (me.login, me.email, me.phone) == (attacker.login, attacker.email, "+79127654321")
        assert me.email_confirmed_at is not None
        assert passwords.verify_password(new_password, me.password_hash,
                                         secret_key=get_settings().secret_key)
    assert _live(token), "the current session must survive its own password change"


def test_router_data_cannot_smuggle_a_cookie(client, make_account, mint):
    """Headers come from the websocket handshake only; a cookie in the event's
    router_data is ignored."""
    victim = make_account("smuggle")
    token = mint(victim)
    c = client()
    forged = {"pathname": "/profile", "asPath": "/profile",
              "headers": {"cookie": victim.cookie(token)}, "token": "x", "ip": "10.0.0.1", "sid": "x"}
    from lkk_app.state.profile import PhonePanel, ProfileState

    c.call(f"{ProfileState.get_full_name()}.on_load", {}, router_data=forged)
    c.call(f"{PhonePanel.get_full_name()}.save_phone", {"form_data": {"phone": "+79165554433"}},
           router_data=forged)
    assert not _leaks(c.text(), victim)
    assert _live(token)


def test_a_copied_tab_token_without_the_cookie_gets_an_empty_state(client, make_account, mint):
    """Reflex keeps a tab's state under the token in the websocket URL (made
    with Math.random, visible in proxy logs).  Replaying a logged-in tab's
    token without its session cookie — or after logout — must not return
    what that tab's pages loaded (the middleware binds the state to the cookie)."""
    victim = make_account("replay")
    token = mint(victim)
    tab = client(cookie=victim.cookie(token))
    seen = tab.hydrate("/profile")
    assert "phone as shown" in _leaks(tab.text(seen), victim)  # what the page loaded
    tab.close()
    thief = client(token=tab.token)
    assert not _leaks(thief.text(thief.hydrate(NO_PAGE)), victim)
    thief.close()
    thief2 = client(token=tab.token, cookie=victim.cookie(secrets.token_urlsafe(32)))
    assert not _leaks(thief2.text(thief2.hydrate(NO_PAGE)), victim)
    thief2.close()
    # The tab itself, with its cookie, keeps its state across reconnects.
    again = client(token=tab.token, cookie=victim.cookie(token))
    assert "phone as shown" in _leaks(again.text(again.hydrate(NO_PAGE)), victim)


def test_type_confusion_reveals_nothing(client, snapshot, app_server):
    """Payloads of the wrong type (form_data not a dict, missing, null): the
    handler may fail, but the client learns nothing beyond the generic
    production message and nothing is written."""
    from lkk_app.state.forgot import ForgotState
    from lkk_app.state.profile import PasswordPanel, PhonePanel, SessionsPanel
    from lkk_app.state.register import RegisterState

    c = client()
    before = snapshot()
    for state in (ForgotState, RegisterState, PhonePanel, PasswordPanel, SessionsPanel):
        for name in ("submit", "save_phone", "change_password", "end_session"):
            if name not in state.event_handlers:
                continue
            for payload in ({}, {"form_data": None}, {"form_data": "x"}, {"form_data": [1, 2]},
                            {"form_data": {"login": ["a"], "email": {"x": 1}, "phone": 7}},
                            {"session_id": "1; DROP TABLE lkk_session"}, {"session_id": {"$gt": 0}}):
                c.call(f"{state.get_full_name()}.{name}", payload, path="/forgot")
    text = c.text()
    for detail in ("Traceback", "Error:", "lkk_app/", "site-packages", "line "):
        assert detail not in text, f"{detail!r} sent to the client"
    # The message the page shows (lkk_app/state/errors.py) instead of Reflex's eval'd toast.
    from lkk_app.i18n import t

    assert t("error.handler_failed") in text
    assert "Contact the website administrator." not in text
    assert snapshot()["lkk_user"] == before["lkk_user"]
    assert snapshot()["lkk_session"] == before["lkk_session"]
    assert c.connected
    assert_alive(app_server)
