"""Who is logged in.  The only credential is the HttpOnly session cookie, read
from the websocket handshake; every protected handler resolves it again."""

from __future__ import annotations

import asyncio
from http.cookies import CookieError, SimpleCookie
from urllib.parse import quote

import reflex as rx

from lkk_app.db import session_scope
from lkk_app.auth import sessions as session_service
from lkk_app.auth import users as user_service
from lkk_app.settings import get_settings

LOGIN_PAGE = "/"
# Where a session opened with a temporary password must go (and may only go).
CHANGE_PASSWORD_PAGE = "/change-password"


def cookie_value(cookie_header: str, name: str) -> str:
    """The value of cookie ``name`` in a Cookie header ("" when absent or unreadable)."""
    if not cookie_header:
        return ""
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return ""
    morsel = jar.get(name)
    return morsel.value if morsel else ""


def session_token_from_cookie_header(cookie_header: str) -> str:
    return cookie_value(cookie_header, get_settings().session_cookie_name)


def _current_user_snapshot(token: str) -> dict | None:
    """Runs in a worker thread: the session row and its user, or None."""
    if not token:
        return None
    with session_scope() as db:
        row = session_service.resolve_session(db, token)
        if row is None:
            return None
        user = user_service.get_user(db, row.user_id)
        if user is None:
            return None
        return {
            "id": user.id,
            "login": user.login,
            "email": user.email,
            "phone": user.phone or "",
            "email_confirmed_at": user.email_confirmed_at,
            "created_at": user.created_at,
            "last_login_at": user.last_login_at,
            "must_change_password": bool(row.must_change_password),
        }


class AuthState(rx.State):
    """Base of every state that needs to know the user.

    A *restricted* session (opened with a temporary password) counts as "not
    logged in" for every page and handler: :meth:`_current_user` returns
    ``None`` for it, and :meth:`_to_login` then sends the browser to «Смена
    пароля» instead of the login window.  Only the password-change state asks
    for ``allow_restricted=True``.
    """

    # Whether the session last resolved by this client's handlers was restricted.
    _restricted_session: bool = False

    def _session_token(self) -> str:
        return session_token_from_cookie_header(self.router.headers.cookie)

    async def _current_user(self, *, allow_restricted: bool = False) -> dict | None:
        user = await asyncio.to_thread(_current_user_snapshot, self._session_token())
        self._restricted_session = bool(user and user["must_change_password"])
        if self._restricted_session and not allow_restricted:
            return None
        return user

    def _to_login(self) -> rx.event.EventSpec:
        if self._restricted_session:
            return rx.redirect(CHANGE_PASSWORD_PAGE)
        path = self.router.url.path or "/profile"
        query = self.router.url.query
        target = path + (f"?{query}" if query else "")
        return rx.redirect(f"{LOGIN_PAGE}?next={quote(target, safe='/')}")
