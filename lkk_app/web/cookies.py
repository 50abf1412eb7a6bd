"""Reading one cookie out of a ``Cookie`` header (the websocket's handshake
headers carry no parsed cookies)."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from urllib.parse import quote, unquote

# The login typed in a refused attempt, for the login window to show again
# (never in the address: URLs end up in histories, logs and Referer headers).
LOGIN_HINT = "lkk_login_hint"
LOGIN_HINT_SECONDS = 600
LOGIN_HINT_MAX = 64


def encode_login_hint(login: str) -> str:
    """The cookie value of a login (percent-encoded: any letters survive)."""
    return quote(login[:LOGIN_HINT_MAX], safe="")


def login_hint(cookie_header: str | None) -> str:
    """The login of the hint cookie ("" when there is none)."""
    return unquote(cookie_value(cookie_header, LOGIN_HINT))[:LOGIN_HINT_MAX]


def cookie_value(cookie_header: str | None, name: str) -> str:
    """The value of cookie ``name`` ("" when absent or unreadable)."""
    if not cookie_header:
        return ""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return ""
    morsel = jar.get(name)
    return morsel.value if morsel else ""
