"""Reading one cookie out of a ``Cookie`` header (the websocket's handshake
headers carry no parsed cookies)."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie


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
