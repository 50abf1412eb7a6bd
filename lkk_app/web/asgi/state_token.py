"""Reflex state bound to the session cookie.

Reflex keeps each tab's state under the ``token`` the browser sends in the
websocket URL — made with ``Math.random``, and visible in proxy logs.
Whoever presents a token gets that state, including what a logged-in page
put there, in the first frame before any handler runs.  This middleware
replaces the token with ``HMAC(secret key, token | session cookie)``: the
same tab with the same cookie keeps its state, but a copied token without the
cookie, or the same tab after logout or another login, starts empty.  A file
upload (``/_upload``) names the tab's state in its ``Reflex-Client-Token``
header, which is bound the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from urllib.parse import parse_qsl, urlencode

from starlette.types import Receive, Scope, Send

from lkk_app import routes
from lkk_app.settings import Settings
from lkk_app.web.asgi.common import Middleware, header, is_event_path
from lkk_app.web.cookies import cookie_value

PURPOSE = b"lkk-reflex-state-token|"


def bound_state_token(client_token: str, session_cookie: str, secret_key: bytes) -> str:
    """The token Reflex keeps the tab's state under: the browser's token bound to
    the session cookie (a UUID-shaped string, as Reflex expects)."""
    mac = hmac.new(secret_key, PURPOSE + client_token.encode("utf-8", "replace")
                   + b"|" + session_cookie.encode("latin-1", "replace"), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=mac[:16], version=4))


def rebind_token(scope: Scope, settings: Settings) -> Scope:
    raw = scope.get("query_string", b"").decode("latin-1")
    pairs = parse_qsl(raw, keep_blank_values=True)
    if not any(k == "token" for k, _ in pairs):
        return scope
    cookie = cookie_value(header(scope, b"cookie"), settings.session_cookie_name)
    pairs = [(k, bound_state_token(v, cookie, settings.secret_key) if k == "token" else v)
             for k, v in pairs]
    return {**scope, "query_string": urlencode(pairs).encode("latin-1")}


UPLOAD_TOKEN_HEADER = b"reflex-client-token"


def rebind_upload_token(scope: Scope, settings: Settings) -> Scope:
    """An upload names its tab's state in a header: bound the same way."""
    cookie = cookie_value(header(scope, b"cookie"), settings.session_cookie_name)
    headers = [(name, bound_state_token(value.decode("latin-1"), cookie, settings.secret_key).encode("latin-1"))
               if name.lower() == UPLOAD_TOKEN_HEADER else (name, value)
               for name, value in scope.get("headers", [])]
    return {**scope, "headers": headers}


class StateTokenBinding(Middleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and is_event_path(scope.get("path", "")):
            scope = rebind_token(scope, self.settings)
        elif scope["type"] == "http" and scope.get("path", "") == routes.UPLOAD:
            scope = rebind_upload_token(scope, self.settings)
        await self.app(scope, receive, send)
