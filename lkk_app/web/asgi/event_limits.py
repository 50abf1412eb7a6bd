"""Bounds on the work one websocket client can cause, in front of Reflex's
event queue (numbers, reasons and tests: SECURITY.md, "Work one client can
cause").

Reflex 0.10 parses every event a socket sends and queues it without a bound,
and keeps working through the queue after the client has gone.
:func:`install` (called from ``lkk_app/lkk_app.py``) puts in place: a rate
per connection and per client IP (token buckets, before an event is even
parsed into an ``Event``), a rate of new connections per IP (refused in the
Engine.IO handshake), a cap on a connection's unfinished events, the queue
dropped with its client, and a nesting limit for incoming frames.  A
connection the server closes is closed for good (its websocket too), with one
log line.  The limits are per server process; CPU-heavy work runs on the
bounded pools of :mod:`lkk_app.cpu_pools`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from reflex.app import App, EventNamespace
from reflex_base import constants
from reflex_base.event.processor import BaseStateEventProcessor
from reflex_base.event.processor.future import EventFuture
from reflex_base.registry import RegistrationContext

from lkk_app.core.token_bucket import TokenBucket

log = logging.getLogger("lkk.event_limits")

# Events per second one connection may send, and the burst it may save up.
# A person clicking never comes near (a page load is one or two events).
CONNECTION_RATE = 20.0
CONNECTION_BURST = 40
# Events per second from one client IP over all its connections.
IP_RATE = 60.0
IP_BURST = 60
# New websocket connections per second from one client IP (a page load or a
# reload opens one); refused before the handshake completes, after a pause
# that slows a client trying again and again (a sleeping coroutine costs the
# server next to nothing, an answered handshake does not).
IP_CONNECT_RATE = 10.0
IP_CONNECT_BURST = 20
REFUSAL_PAUSE = 0.5
# Unfinished events (queued or running) of one connection.
MAX_PENDING = 20
# Events of one connection dropped for its rate or its IP's before the
# connection is closed: reading frames costs the server too.
MAX_DROPPED = 10
# Nesting of arrays and objects in one frame.  The app's deepest event (the
# Socket.IO envelope, the event, its payload, a form) is 4 levels deep.
MAX_JSON_DEPTH = 32
# Seconds between two log lines about one IP over its rate.
IP_LOG_INTERVAL = 60.0
# Idle per-IP buckets are forgotten after this many seconds without a connection.
IP_FORGET_AFTER = 600.0


@dataclasses.dataclass
class _Connection:
    ip: str
    bucket: TokenBucket
    dropped: int = 0
    # Why the server is closing it (logged once the connection is gone).
    closing: str = ""


@dataclasses.dataclass
class _Address:
    bucket: TokenBucket
    connects: TokenBucket
    connections: int = 0
    idle_since: float = 0.0
    dropped: int = 0
    logged_at: float = float("-inf")


# --------------------------------------------------------------------------- frames

# A JSON string (with escapes) or one bracket.
_JSON_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``text`` nests arrays/objects deeper than ``limit`` (brackets
    inside strings do not count).  Linear; a frame with few brackets returns
    at once."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _JSON_TOKEN_RE.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif token in ("]", "}"):
            depth -= 1
    return False


async def close_connection(sio: Any, eio_sid: str) -> None:
    """Close an Engine.IO connection for good: Socket.IO's disconnect handlers
    run, the client gets a CLOSE packet, and the websocket itself is closed,
    so that the frames the client has already sent are never read (Engine.IO's
    own disconnect leaves the socket open until the client closes it, and
    reads everything it still sends)."""
    socket = sio.eio.sockets.get(eio_sid)
    await sio.eio.disconnect(eio_sid)
    if socket is not None:
        # Ends the writer, which then closes the websocket.
        await socket.queue.put(None)


def gate_connections(namespace: LimitedEventNamespace,
                     handler: Callable[[str, dict], Awaitable[Any]]):
    """Wrap Socket.IO's Engine.IO ``connect`` handler: a handshake over its
    IP's connection rate is refused (HTTP 403) before the websocket opens."""

    async def on_connect(eio_sid: str, environ: dict) -> Any:
        if not namespace.admit_connection(environ):
            await asyncio.sleep(REFUSAL_PAUSE)
            return False
        return await handler(eio_sid, environ)

    return on_connect


def guard_frames(sio: Any, handler: Callable[[str, Any], Awaitable[Any]]):
    """Wrap Socket.IO's Engine.IO ``message`` handler: a text frame nested
    deeper than :data:`MAX_JSON_DEPTH` closes its connection unparsed."""

    async def on_message(eio_sid: str, data: Any) -> Any:
        if eio_sid not in sio.eio.sockets:
            return None  # closed by the server: not even parsed
        if isinstance(data, str) and json_depth_exceeds(data):
            log.warning("websocket %s closed by the server: a frame nested more than %d levels deep",
                        eio_sid, MAX_JSON_DEPTH)
            await close_connection(sio, eio_sid)
            return None
        return await handler(eio_sid, data)

    return on_message


# --------------------------------------------------------------------------- queue


class LimitedEventProcessor(BaseStateEventProcessor):
    """Reflex's processor, knowing each tab's unfinished top-level events."""

    @functools.cached_property
    def _client_events(self) -> dict[str, dict[str, EventFuture]]:
        return {}

    async def enqueue(self, token: str, event: Any, ev_ctx: Any = None) -> EventFuture:
        future = await super().enqueue(token, event, ev_ctx)
        # An event without a handler is logged and skipped by Reflex, its
        # future never resolved: it must not count as unfinished.
        if future.parent is None and not future.done() and self._has_handler(event.name):
            self._client_events.setdefault(token, {})[future.txid] = future
            future.add_done_callback(functools.partial(self._forget_client_event, token))
        return future

    @staticmethod
    def _has_handler(name: str) -> bool:
        try:
            return name in RegistrationContext.get().event_handlers
        except LookupError:
            return True

    def _forget_client_event(self, token: str, future: EventFuture) -> None:
        events = self._client_events.get(token)
        if events is not None:
            events.pop(future.txid, None)
            if not events:
                del self._client_events[token]

    def pending(self, token: str) -> int:
        """Top-level events of ``token`` that are queued or running."""
        return len(self._client_events.get(token, ()))

    def drop_queue(self, token: str) -> int:
        """Cancel the events of ``token`` that have not started; return how many."""
        dropped = 0
        for txid, future in list(self._client_events.pop(token, {}).items()):
            if txid not in self._tasks and not future.done():
                future.cancel()
                dropped += 1
        return dropped


@contextlib.asynccontextmanager
async def _limited_event_processor(app: App) -> AsyncIterator[None]:
    """``App._setup_event_processor`` with :class:`LimitedEventProcessor`."""
    namespace = app.event_namespace
    if namespace is not None:
        namespace._token_manager._reset_instance_id()
    app._event_processor = LimitedEventProcessor(
        middleware=app, backend_exception_handler=app.backend_exception_handler)
    async with app._event_processor.configure(state_manager=app.state_manager,
                                              event_namespace=namespace):
        yield


# --------------------------------------------------------------------------- namespace


class LimitedEventNamespace(EventNamespace):
    """Reflex's ``/_event`` namespace with rates and a cap in front of the queue."""

    def __init__(self, namespace: str, app: App) -> None:
        super().__init__(namespace, app)
        self._connections: dict[str, _Connection] = {}
        self._addresses: dict[str, _Address] = {}
        self._pruned_at = time.monotonic()

    def _address(self, ip: str) -> _Address:
        address = self._addresses.get(ip)
        if address is None:
            self._forget_idle_addresses()
            address = self._addresses[ip] = _Address(TokenBucket(IP_RATE, IP_BURST),
                                                     TokenBucket(IP_CONNECT_RATE, IP_CONNECT_BURST),
                                                     idle_since=time.monotonic())
        return address

    def _connection(self, sid: str, ip: str | None = None) -> _Connection:
        conn = self._connections.get(sid)
        if conn is None:
            if ip is None:
                router = self._static_router_data.get(sid) or {}
                ip = str(router.get(constants.RouteVar.CLIENT_IP) or "-")
            conn = self._connections[sid] = _Connection(ip, TokenBucket(CONNECTION_RATE, CONNECTION_BURST))
            self._address(ip).connections += 1
        return conn

    def _over_ip_rate(self, address: _Address, ip: str, now: float, what: str) -> None:
        address.dropped += 1
        if now - address.logged_at >= IP_LOG_INTERVAL:
            log.warning("websockets from %s: more than %s per second, %d event(s) or "
                        "connection(s) refused", ip, what, address.dropped)
            address.logged_at, address.dropped = now, 0

    def admit_connection(self, environ: dict) -> bool:
        """Engine.IO handshake: False when the client's IP opens connections
        faster than :data:`IP_CONNECT_RATE`."""
        ip = str(self._build_static_router_data("", environ).get(constants.RouteVar.CLIENT_IP) or "-")
        address = self._address(ip)
        now = time.monotonic()
        if not address.connections:
            address.idle_since = now  # an address that keeps trying is not idle
        if address.connects.take(now):
            return True
        self._over_ip_rate(address, ip, now, f"{int(IP_CONNECT_RATE)} new connections")
        return False

    def _forget_idle_addresses(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at < IP_LOG_INTERVAL:
            return
        self._pruned_at = now
        for ip in [ip for ip, a in self._addresses.items()
                   if not a.connections and now - a.idle_since > IP_FORGET_AFTER]:
            del self._addresses[ip]

    def _processor(self) -> LimitedEventProcessor | None:
        processor = self.app._event_processor
        return processor if isinstance(processor, LimitedEventProcessor) else None

    async def _close(self, sid: str) -> None:
        eio_sid = self.server.manager.eio_sid_from_sid(sid, self.namespace)
        if eio_sid is not None:
            await close_connection(self.server, eio_sid)
        else:
            await self.disconnect(sid)

    async def _drop(self, sid: str, conn: _Connection, reason: str) -> None:
        """An event over a rate is dropped; a connection that goes on is closed."""
        conn.dropped += 1
        if conn.dropped > MAX_DROPPED:
            conn.closing = f"{reason}, {conn.dropped} events dropped"
            await self._close(sid)

    async def on_connect(self, sid: str, environ: dict, auth: Any = None):
        ip = str(self._build_static_router_data(sid, environ).get(constants.RouteVar.CLIENT_IP) or "-")
        self._connection(sid, ip)
        try:
            return await super().on_connect(sid, environ, auth)
        except BaseException:
            self._forget_connection(sid)  # a refused connect never reaches on_disconnect
            raise

    async def on_event(self, sid: str, data: Any) -> None:
        conn = self._connection(sid)
        if conn.closing:
            return
        now = time.monotonic()
        address = self._address(conn.ip)
        if not conn.bucket.take(now):
            await self._drop(sid, conn, f"more than {int(CONNECTION_RATE)} events per second")
            return
        if not address.bucket.take(now):
            self._over_ip_rate(address, conn.ip, now, f"{int(IP_RATE)} events")
            await self._drop(sid, conn, f"more than {int(IP_RATE)} events per second from its address")
            return
        token = self.sid_to_token.get(sid)
        processor = self._processor()
        if token is not None and processor is not None and processor.pending(token) >= MAX_PENDING:
            conn.closing = f"more than {MAX_PENDING} events unfinished"
            await self._close(sid)
            return
        await super().on_event(sid, data)

    def _forget_connection(self, sid: str) -> _Connection | None:
        conn = self._connections.pop(sid, None)
        if conn is not None:
            address = self._addresses.get(conn.ip)
            if address is not None:
                address.connections -= 1
                address.idle_since = time.monotonic()
        return conn

    def on_disconnect(self, sid: str, reason: Any = None):
        conn = self._forget_connection(sid)
        token = self.sid_to_token.get(sid)
        processor = self._processor()
        dropped = processor.drop_queue(token) if token is not None and processor is not None else 0
        if conn is not None and conn.closing:
            log.warning("websocket %s from %s closed by the server: %s; %d waiting event(s) dropped",
                        sid, conn.ip, conn.closing, dropped)
        elif dropped:
            log.info("websocket %s gone: %d waiting event(s) dropped", sid, dropped)
        return super().on_disconnect(sid)


# --------------------------------------------------------------------------- installation


def install(app: App) -> None:
    """Put the limits in place of Reflex's namespace, processor and frame
    handler.  Call once, right after ``rx.App(...)``."""
    old = app.event_namespace
    if old is None or app.sio is None:
        raise RuntimeError("the app has no websocket (state is disabled)")
    namespace = LimitedEventNamespace(old.namespace, app)
    app._event_namespace = namespace
    app.sio.register_namespace(namespace)

    tasks = app._lifespan_tasks
    original = app._setup_event_processor
    if original not in tasks:
        raise RuntimeError("Reflex no longer sets up its event processor as a lifespan task")
    # Same place in the start-up order; Reflex passes ``app`` to the function.
    app._lifespan_tasks = {(_limited_event_processor if task == original else task): None
                           for task in tasks}

    eio_handlers = app.sio.eio.handlers
    eio_handlers["connect"] = gate_connections(namespace, eio_handlers["connect"])
    eio_handlers["message"] = guard_frames(app.sio, eio_handlers["message"])
