"""The Host check: a request whose ``Host`` is not the host of
``LKK_PUBLIC_URL`` (in development also ``localhost``, ``127.0.0.1``,
``[::1]`` or ``0.0.0.0`` on the same port, or on Reflex's backend port) is
refused with 400 — a websocket handshake with a close before the accept (403) —
except the health checks, which load balancers make by address.  In
development a page asked for under another loopback name of the public port
is redirected to the public address (the console prints ``127.0.0.1`` or
``0.0.0.0``; the session cookie and the websocket live on the public one).

And no redirect names a host taken from the request: an absolute ``Location``
pointing at the request's own host (Starlette builds them from ``Host`` for
the trailing-slash redirects of ``/register`` and the like) is sent as a path,
which also keeps a plain ``http://`` seen behind a TLS proxy out of redirects.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote_from_bytes, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lkk_app import routes
from lkk_app.settings import Settings
from lkk_app.web.asgi.common import Middleware, header, refuse

log = logging.getLogger("lkk.security")

# Answered whatever the Host header says (health checks of load balancers).
HOST_EXEMPT_PATHS = frozenset({routes.PING, routes.HEALTH})
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "0.0.0.0")  # noqa: S104 - names in a Host header, not an address to bind
DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters a path keeps as they are in a Location header (the rest is percent-encoded).
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


def quote(raw: bytes, safe: str) -> bytes:
    return quote_from_bytes(raw, safe=safe).encode("ascii")
_HOST_HEADER_RE = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::([0-9]{1,5}))?")


def parse_host(value: str, default_port: int) -> tuple[str, int] | None:
    """``Host`` header value -> (lower-case host without brackets, port), or None."""
    match = _HOST_HEADER_RE.fullmatch(value.strip())
    if not match:
        return None
    port = int(match.group(2)) if match.group(2) else default_port
    if not 0 < port < 65536:
        return None
    return match.group(1).strip("[]").lower().rstrip("."), port


def allowed_hosts(settings: Settings, dev_ports: Iterable[int] = ()) -> frozenset[tuple[str, int]]:
    """The (host, port) pairs a request may name in ``Host``: the public URL's,
    and in development the loopback names on the public port and ``dev_ports``."""
    parts = urlsplit(settings.public_origin)
    default_port = DEFAULT_PORTS.get(parts.scheme, 80)
    port = parts.port or default_port
    allowed = {((parts.hostname or "").lower().rstrip("."), port)}
    if not settings.is_production:
        for p in {port, *dev_ports}:
            allowed.update((name, p) for name in LOOPBACK_NAMES)
    return frozenset(allowed)


def _reflex_ports() -> list[int]:
    """The ports Reflex serves on (in development the backend has its own)."""
    try:
        from reflex_base.config import get_config

        config = get_config()
        return [p for p in (config.backend_port, config.frontend_port) if isinstance(p, int)]
    except Exception:  # noqa: BLE001 - no Reflex config (tests of the bare middleware)
        return []


def relative_location(location: str, own_hosts: Iterable[str]) -> str:
    """An absolute ``Location`` that points at one of ``own_hosts`` (``host[:port]``,
    lower case), as a path; any other value unchanged."""
    parts = urlsplit(location)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return location
    if parts.netloc.lower() not in own_hosts:
        return location
    # One leading slash: "//evil" would be read as another host.
    path = "/" + parts.path.lstrip("/")
    return path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


class HostCheck(Middleware):
    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        super().__init__(app, settings)
        self._hosts: frozenset[tuple[str, int]] | None = None

    def hosts(self) -> frozenset[tuple[str, int]]:
        if self._hosts is None:
            self._hosts = allowed_hosts(self.settings, _reflex_ports())
        return self._hosts

    def foreign_host(self, scope: Scope) -> str | None:
        """The request's ``Host`` when it is not one this server answers to.
        A request without one (HTTP/1.0) names no host that could be reflected."""
        if scope.get("path", "") in HOST_EXEMPT_PATHS:
            return None
        host = header(scope, b"host")
        if host is None:
            return None
        default_port = DEFAULT_PORTS.get(urlsplit(self.settings.public_origin).scheme, 80)
        parsed = parse_host(host, default_port)
        if parsed is not None and parsed in self.hosts():
            return None
        return host

    def own_hosts(self, scope: Scope, foreign_host: str | None) -> set[str]:
        """``host[:port]`` names a redirect may point at and be sent as a path."""
        own = {urlsplit(self.settings.public_origin).netloc.lower()}
        request_host = header(scope, b"host")
        if request_host and foreign_host is None:
            own.add(request_host.strip().lower())
        server = scope.get("server")
        if request_host is None and server:
            # Without Host, Starlette names the listening address instead.
            name = f"[{server[0]}]" if ":" in str(server[0]) else str(server[0])
            own.update({name.lower(), f"{name}:{server[1]}".lower()})
        return own

    def public_alias(self, scope: Scope) -> bool:
        """Development: a page asked for under another loopback name of the public
        port (``127.0.0.1:3000``, ``0.0.0.0:3000`` — the addresses the server's
        console prints) — the session cookie and the websocket belong to the
        public address, so the browser is sent there."""
        if self.settings.is_production or scope.get("method") not in ("GET", "HEAD") \
                or scope.get("path", "") in HOST_EXEMPT_PATHS:
            return False
        parts = urlsplit(self.settings.public_origin)
        default_port = DEFAULT_PORTS.get(parts.scheme, 80)
        parsed = parse_host(header(scope, b"host") or "", default_port)
        public = ((parts.hostname or "").lower(), parts.port or default_port)
        return parsed is not None and parsed != public and parsed[1] == public[1] \
            and parsed[0] in LOOPBACK_NAMES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if kind == "http" and self.public_alias(scope):
            # The path as the browser sent it (percent-encoded), never re-encoded.
            query = scope.get("query_string", b"")
            raw_path = scope.get("raw_path") or scope.get("path", "/").encode("utf-8")
            location = self.settings.public_origin.encode("ascii") + quote(raw_path, safe=_PATH_SAFE) \
                + (b"?" + query if query else b"")
            await send({"type": "http.response.start", "status": 307,
                        "headers": [(b"location", location), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        foreign_host = self.foreign_host(scope)
        if foreign_host is not None:
            log.warning("%s %.64s with a foreign Host refused: %.100r", kind,
                        scope.get("path", ""), foreign_host)
        if kind == "websocket":
            if foreign_host is not None:
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        own_hosts = self.own_hosts(scope, foreign_host)

        async def send_relative(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, relative_location(v.decode("latin-1"), own_hosts).encode("latin-1"))
                           if k.lower() == b"location" else (k, v)
                           for k, v in message.get("headers", [])]
                message = {**message, "headers": headers}
            await send(message)

        if foreign_host is not None:
            await refuse(send_relative, 400, b"Bad Request")
            return
        await self.app(scope, receive, send_relative)
