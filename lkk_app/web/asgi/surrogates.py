"""Lone UTF-16 surrogates: JSON may carry ``\\ud800`` escapes, which Python
decodes into strings that cannot be encoded, hashed or stored (SQLite and
PostgreSQL refuse them).  An unpaired surrogate escape in a websocket message
becomes U+FFFD before Reflex parses it — what a browser does when it encodes a
form post; paired ones (emoji) pass unchanged."""

from __future__ import annotations

import re

from starlette.types import Message, Receive, Scope, Send

from lkk_app.web.asgi.common import Middleware, is_event_path

# A JSON \\uXXXX escape of a surrogate, not itself escaped (an even number of
# backslashes before it): a high one with its low partner, a high one alone, a low one alone.
_SURROGATE_ESCAPE_RE = re.compile(
    r"(?<!\\)((?:\\\\)*)\\u[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
    r"|(?<!\\)((?:\\\\)*)\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def clean_lone_surrogates(text: str) -> str:
    """Replace unpaired surrogate escapes in JSON text by ``\\ufffd``."""
    if "\\u" not in text:
        return text

    def fix(m: re.Match) -> str:
        whole = m.group(0)
        lead = m.group(1) if m.group(1) is not None else (m.group(2) or "")
        escape = whole[len(lead):]
        return whole if len(escape) == 12 else lead + "\\ufffd"

    return _SURROGATE_ESCAPE_RE.sub(fix, text)


def _clean_receive(receive: Receive) -> Receive:
    async def wrapped() -> Message:
        message = await receive()
        if message.get("type") == "websocket.receive" and message.get("text"):
            text = message["text"]
            cleaned = clean_lone_surrogates(text)
            if cleaned != text:
                message = {**message, "text": cleaned}
        return message

    return wrapped


class SurrogateCleaner(Middleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and is_event_path(scope.get("path", "")):
            receive = _clean_receive(receive)
        await self.app(scope, receive, send)
