"""The confirmation link (``/confirm/<token>``): a GET only shows a page with
«Войти в личный кабинет»; the same-origin POST of that button confirms the
address and opens the session.  Mail scanners and link previews, which fetch
every link in a letter, neither log in nor spend the link."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlmodel import select

from lkk_app import db as db_module
from lkk_app.models import AuditEvent, User, UserSession
from lkk_app.auth import users
from lkk_app.core import tokens
from lkk_app.settings import get_settings
from tests.unit.test_login_route import CODE, PASSWORD, client

ORIGIN = "http://localhost:3000"

pytestmark = pytest.mark.app_settings(LKK_CAPTCHA_FIXED_CODE=CODE)


def _unconfirmed(login: str = "novikov") -> tuple[int, str]:
    with db_module.session_scope() as s:
        user = users.create_user(s, login=login, email=f"{login}@example.com", password=PASSWORD)
        token = tokens.issue_token(s, user_id=user.id, purpose=tokens.CONFIRM_EMAIL,
                                   ttl=timedelta(hours=24))
        return user.id, token


def _state(user_id: int) -> tuple[bool, int, int]:
    """(confirmed, live sessions, e-mail-confirmed audit events) of the user."""
    with db_module.session_scope() as s:
        user = s.get(User, user_id)
        sessions = s.exec(select(UserSession).where(UserSession.user_id == user_id)).all()
        confirmed = s.exec(select(AuditEvent).where(AuditEvent.event == "email_confirmed",
                                                    AuditEvent.user_id == user_id)).all()
        return user.email_confirmed_at is not None, len(sessions), len(confirmed)


def _press(c, token: str, **headers: str):
    return c.post(f"/confirm/{token}", headers={"origin": ORIGIN, "user-agent": "pytest-agent", **headers})


def test_fetching_the_link_changes_nothing(app_db):
    user_id, token = _unconfirmed()
    scanner = client("198.51.100.7")
    for _ in range(3):  # a mail scanner, a link preview, the owner's first look
        page = scanner.get(f"/confirm/{token}")
        assert page.status_code == 200
        assert "set-cookie" not in page.headers
        assert page.headers["cache-control"] == "no-store"
    assert _state(user_id) == (False, 0, 0)
    text = html.unescape(page.text)
    assert "Войти в личный кабинет" in text and "«novikov»" in text
    assert f"<form method=post action='/confirm/{token}'" in page.text
    assert "<script" not in page.text
    with db_module.session_scope() as s:
        assert tokens.peek_token(s, token, tokens.CONFIRM_EMAIL) == tokens.VALID


def test_the_button_confirms_and_opens_the_cabinet(app_db):
    user_id, token = _unconfirmed()
    client("198.51.100.7").get(f"/confirm/{token}")  # the scanner came first
    owner = client()
    assert owner.get(f"/confirm/{token}").status_code == 200
    response = _press(owner, token)
    assert response.status_code == 303 and response.headers["location"] == "/profile"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(get_settings().session_cookie_name + "=")
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert _state(user_id) == (True, 1, 1)
    # Once only: the page and the button now explain that the link is used.
    again = owner.get(f"/confirm/{token}")
    assert again.status_code == 303 and again.headers["location"] == "/confirm-failed?reason=used"
    pressed = _press(owner, token)
    assert pressed.headers["location"] == "/confirm-failed?reason=used"
    assert "set-cookie" not in pressed.headers
    assert _state(user_id) == (True, 1, 1)


def test_the_button_works_only_from_the_page_itself(app_db):
    user_id, token = _unconfirmed()
    c = client()
    for headers in ({"origin": "https://evil.example"}, {"origin": "null"}):
        assert _press(c, token, **headers).status_code == 403
    bare = c.post(f"/confirm/{token}", headers={"user-agent": "pytest-agent"})  # no Origin, no Referer
    assert bare.status_code == 403
    assert _state(user_id) == (False, 0, 0)
    # A Referer of the public origin (what strict-origin sends) is enough.
    referred = c.post(f"/confirm/{token}", headers={"referer": ORIGIN + "/"})
    assert referred.status_code == 303 and _state(user_id) == (True, 1, 1)


def test_a_bad_link_goes_to_the_explaining_page(app_db):
    c = client()
    for token, reason in (("x" * 43, "unknown"), ("<script>", "unknown")):
        response = c.get(f"/confirm/{token}")
        assert response.status_code == 303
        assert response.headers["location"] == f"/confirm-failed?reason={reason}"
    user_id, old = _unconfirmed("sidorov")
    with db_module.session_scope() as s:
        tokens.issue_token(s, user_id=user_id, purpose=tokens.CONFIRM_EMAIL, ttl=timedelta(hours=24))
    assert c.get(f"/confirm/{old}").headers["location"] == "/confirm-failed?reason=replaced"
    assert _press(c, old).headers["location"] == "/confirm-failed?reason=replaced"
    assert _state(user_id) == (False, 0, 0)
