"""The Origin check: a websocket handshake or HTTP request to Reflex's event
endpoint, and any state-changing request (POST, PUT, PATCH, DELETE), whose
``Origin`` is present and not that of the cabinet's pages is refused with
403 — whatever Reflex's ``cors_allowed_origins`` says (a ``REFLEX_*``
variable could widen it).  The form posts check their origin once more
themselves (``web/http/base.py``: ``same_origin``)."""

from __future__ import annotations

import logging

from starlette.types import Receive, Scope, Send

from lkk_app.web.asgi.common import Middleware, header, is_event_path, refuse

log = logging.getLogger("lkk.security")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class OriginCheck(Middleware):
    def foreign_origin(self, scope: Scope) -> str | None:
        """The request's Origin when it is present and not the origin of the
        cabinet's pages (``Settings.page_origins``)."""
        origin = header(scope, b"origin")
        if origin is None or origin in self.settings.page_origins:
            return None
        return origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            origin = self.foreign_origin(scope)
            if origin is not None:
                log.warning("websocket from a foreign origin refused: %.100r", origin)
                # A close before the accept is answered with HTTP 403.
                await send({"type": "websocket.close", "code": 1008})
                return
        elif kind == "http":
            method = scope.get("method", "GET").upper()
            if is_event_path(scope.get("path", "")) or method not in SAFE_METHODS:
                origin = self.foreign_origin(scope)
                if origin is not None:
                    log.warning("%s %.64s from a foreign origin refused: %.100r", method,
                                scope.get("path", ""), origin)
                    await refuse(send)
                    return
        await self.app(scope, receive, send)
