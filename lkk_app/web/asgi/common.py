"""What the ASGI defences share: the settings, a request's headers, Reflex's
event path, a plain refusal."""

from __future__ import annotations

from starlette.types import ASGIApp, Scope, Send

from lkk_app import routes
from lkk_app.settings import Settings, get_settings


class Middleware:
    """A pure ASGI middleware around ``app``; ``settings`` for tests, else the process's."""

    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        self.app = app
        self._settings = settings

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def is_event_path(path: str) -> bool:
    """Reflex's Socket.IO endpoint (the websocket, and its HTTP polling)."""
    return path == routes.EVENT or path.startswith(routes.EVENT + "/")


async def refuse(send: Send, status: int = 403, body: bytes = b"Forbidden") -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
