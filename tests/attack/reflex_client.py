"""A browser tab without the browser: a raw Socket.IO client that speaks
Reflex's event protocol (``reflex_base/.templates/web/utils/state.js``).

* connect to ``/_event`` (Socket.IO path and namespace), websocket transport,
  the tab's token in the query string, handshake headers chosen by the test
  (``Origin``, ``Cookie``) — exactly what an attacker's script can send;
* send ``["event", {name, payload, router_data}]``; ``name`` is the full state
  path plus the handler (``reflex___state____state.<substate>….<handler>``);
* receive ``["event", {delta, events}]`` updates.

To know when the server has finished with an event, a marker follows it: the
root state's ``set_is_hydrated(False)`` then ``set_is_hydrated(True)``.  Events
of one tab are processed strictly in order, so the delta that sets
``is_hydrated`` back to true comes after everything the event itself caused.

The client runs on an event loop in a background thread so that plain
(synchronous) tests, Hypothesis and Playwright can use it alike.

The server limits what one client IP may do (``lkk_app/web/asgi/event_limits.py``):
events per connection and per IP, new connections per IP.  Every client of
the test process comes from 127.0.0.1, so ``connect`` and ``emit`` keep just
under those rates, as a well-behaved page does; only :meth:`ReflexClient.flood`
(the attacker) ignores them.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import types
import uuid
from typing import Any

import socketio

from lkk_app.web.asgi import event_limits

ROOT_STATE = "reflex___state____state"
NAMESPACE = "/_event"
HYDRATE = f"{ROOT_STATE}.hydrate_and_load"
SET_HYDRATED = f"{ROOT_STATE}.set_is_hydrated"
IS_HYDRATED = "is_hydrated_rx_state_"
# A path without a page: hydrating it runs no on_load handler.
NO_PAGE = "/__no_such_page__"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _browser_dumps(obj: Any, **kw: Any) -> str:
    """JSON the way a browser's JSON.stringify writes it: non-ASCII as is (so a
    frame is as long as the browser's), lone surrogates as \\uXXXX escapes."""
    kw["ensure_ascii"] = False
    text = json.dumps(obj, **kw)
    return _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group(0)), text)


BROWSER_JSON = types.SimpleNamespace(dumps=_browser_dumps, loads=json.loads)


class Pacer:
    """A token bucket on the client side: ``wait`` sleeps until a token is there."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if self.stamp:
                self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


# Shared by every client of the process (they all come from one IP), a little
# under the server's limits.  Only used on the loop thread.
_IP_EVENTS = Pacer(event_limits.IP_RATE * 0.9, event_limits.IP_BURST * 0.8)
_IP_CONNECTS = Pacer(event_limits.IP_CONNECT_RATE * 0.9, event_limits.IP_CONNECT_BURST * 0.8)


class LoopThread:
    """One asyncio loop in a daemon thread; ``run`` waits for a coroutine."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="reflex-client")
        self.thread.start()

    def run(self, coro, timeout: float = 60.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        # Finish every task first: a coroutine left pending on a stopped loop
        # is closed later by the garbage collector, at any point of the
        # process, and fails there ("Event loop is closed").
        async def finish_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.run(finish_all(), 15)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Refused(Exception):
    """The server refused the connection."""


class ReflexClient:
    def __init__(self, loop: LoopThread, base_url: str, *, origin: str | None = None,
                 cookie: str | None = None, token: str | None = None,
                 headers: dict[str, str] | None = None, local_ip: str | None = None) -> None:
        """``local_ip``: connect from this loopback address (``127.0.0.2``…) —
        another client IP for the server, still on this machine."""
        self.loop = loop
        self.base_url = base_url
        self.local_ip = local_ip
        self.token = token or str(uuid.uuid4())
        self.headers = dict(headers or {})
        if origin is not None:
            self.headers["Origin"] = origin
        if cookie is not None:
            self.headers["Cookie"] = cookie
        self.updates: list[dict] = []
        self.raw_frames: list[str] = []
        self._new = asyncio.Event()
        self.sio: socketio.AsyncClient | None = None
        self.disconnected = False
        self.reconnects = self.refused = 0
        self._events = Pacer(event_limits.CONNECTION_RATE * 0.9, event_limits.CONNECTION_BURST * 0.8)

    # ------------------------------------------------------------------ connection

    def connect(self, timeout: float = 10.0) -> "ReflexClient":
        self.loop.run(self._connect(timeout), timeout + 5)
        return self

    async def _connect(self, timeout: float, polite: bool = True) -> None:
        if polite:
            await _IP_CONNECTS.wait()
        self._new = asyncio.Event()
        self.disconnected = False
        extra = {}
        if self.local_ip:
            import socket

            import aiohttp

            extra["http_session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                local_addr=(self.local_ip, 0), family=socket.AF_INET))
        sio = socketio.AsyncClient(reconnection=False, request_timeout=timeout, json=BROWSER_JSON,
                                   **extra)

        @sio.on("event", namespace=NAMESPACE)
        async def on_event(data):
            self.updates.append(data)
            self.raw_frames.append(json.dumps(data, ensure_ascii=False))
            self._new.set()

        @sio.on("*", namespace=NAMESPACE)
        async def on_other(name, data=None):
            self.raw_frames.append(json.dumps([name, data], ensure_ascii=False, default=str))
            self._new.set()

        @sio.on("disconnect", namespace=NAMESPACE)
        async def on_disconnect(*_):
            self.disconnected = True
            self._new.set()

        try:
            await sio.connect(f"{self.base_url}?token={self.token}", socketio_path=NAMESPACE,
                              transports=["websocket"], namespaces=[NAMESPACE],
                              headers=dict(self.headers), wait_timeout=timeout)
        except socketio.exceptions.ConnectionError as exc:
            await _close_http(sio)
            raise Refused(str(exc)) from exc
        self.sio = sio

    @property
    def connected(self) -> bool:
        return bool(self.sio and self.sio.connected and not self.disconnected)

    def close(self) -> None:
        if self.sio is not None:
            sio, self.sio = self.sio, None
            self.loop.run(_disconnect(sio), 15)

    def __enter__(self) -> "ReflexClient":
        return self.connect()

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ events

    @staticmethod
    def router_data(path: str) -> dict:
        return {"pathname": path, "asPath": path}

    def emit(self, name: str, payload: dict | None = None, path: str = NO_PAGE,
             router_data: dict | None = None) -> None:
        """Send one event without waiting for its effects."""
        data = {"name": name, "payload": payload or {},
                "router_data": router_data if router_data is not None else self.router_data(path)}
        self.loop.run(self._emit(data), 30)

    def emit_raw(self, data: Any) -> None:
        """Send anything as the ``event`` message (malformed events, huge payloads)."""
        self.loop.run(self._emit(data), 60)

    async def _emit(self, data: Any) -> None:
        assert self.sio is not None, "not connected"
        await self._events.wait()
        await _IP_EVENTS.wait()
        await self.sio.emit("event", data, namespace=NAMESPACE)

    async def flood(self, name: str, payload: dict | None = None, path: str = NO_PAGE, *,
                    seconds: float, max_events: int, reconnects: int = 0) -> int:
        """Send ``name`` as fast as the socket takes it, for at most ``seconds``
        and ``max_events``; when the server closes the connection, connect
        again (at most ``reconnects`` times) and go on, as an attacker would.
        Returns how many were sent; ``self.reconnects`` counts the attempts
        to connect again, ``self.refused`` those the server refused.  A coroutine, to run several at once on the loop."""
        data = {"name": name, "payload": payload or {}, "router_data": self.router_data(path)}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        sent = 0
        self.reconnects = self.refused = 0
        while sent < max_events and loop.time() < deadline:
            if not self.connected:
                if self.reconnects >= reconnects:
                    break
                self.reconnects += 1
                if self.sio is not None:
                    sio, self.sio = self.sio, None
                    await _disconnect(sio)
                try:
                    await self._connect(10, polite=False)
                except Refused:
                    self.refused += 1
                    continue
            try:
                await self.sio.emit("event", data, namespace=NAMESPACE)  # type: ignore[union-attr]
            except Exception:  # noqa: BLE001 - the server closed the connection
                self.disconnected = True
                continue
            sent += 1
            if sent % 20 == 0:
                # Let the writer put the frames on the wire.
                await asyncio.sleep(0)
        return sent

    def call(self, name: str, payload: dict | None = None, path: str = NO_PAGE,
             router_data: dict | None = None, timeout: float = 30.0) -> list[dict]:
        """Send an event and return every update the server sent until it finished."""
        start = len(self.updates)
        self.emit(name, payload, path, router_data)
        self.emit(SET_HYDRATED, {"value": False}, path)
        self.emit(SET_HYDRATED, {"value": True}, path)
        self.loop.run(self._wait_hydrated(start, timeout), timeout + 5)
        return self.updates[start:]

    def hydrate(self, path: str, timeout: float = 30.0) -> list[dict]:
        """What a page load does: ``hydrate_and_load`` for ``path`` (runs its on_load)."""
        start = len(self.updates)
        self.emit(HYDRATE, {}, path)
        self.loop.run(self._wait_hydrated(start, timeout), timeout + 5)
        return self.updates[start:]

    async def _wait_hydrated(self, start: int, timeout: float) -> None:
        async def wait() -> None:
            seen = start
            while True:
                for update in self.updates[seen:]:
                    root = (update.get("delta") or {}).get(ROOT_STATE) or {}
                    if root.get(IS_HYDRATED) is True:
                        return
                seen = len(self.updates)
                if self.disconnected:
                    raise ConnectionError("the server closed the connection")
                self._new.clear()
                await self._new.wait()

        await asyncio.wait_for(wait(), timeout)

    def text(self, updates: list[dict] | None = None) -> str:
        """Everything received (or the given updates) as one JSON text, for searching."""
        if updates is None:
            return "\n".join(self.raw_frames)
        return "\n".join(json.dumps(u, ensure_ascii=False) for u in updates)


def flood_all(loop: LoopThread, clients: list[ReflexClient], name: str, payload: dict | None = None,
              path: str = NO_PAGE, *, seconds: float, max_events: int,
              reconnects: int = 0) -> list[int]:
    """:meth:`ReflexClient.flood` from every client at once; events sent by each."""
    async def go() -> list[int]:
        return list(await asyncio.gather(*(c.flood(name, payload, path, seconds=seconds,
                                                   max_events=max_events, reconnects=reconnects)
                                           for c in clients)))

    return loop.run(go(), seconds + 60)


def state_vars(updates: list[dict], state_name: str) -> dict:
    """The last value of every var of one state seen in the updates (names without the suffix)."""
    out: dict = {}
    for update in updates:
        for name, values in (update.get("delta") or {}).items():
            if name == state_name:
                for key, value in values.items():
                    out[key.removesuffix("_rx_state_")] = value
    return out


def frontend_events(updates: list[dict]) -> list[dict]:
    return [e for u in updates for e in (u.get("events") or [])]


async def _disconnect(sio: socketio.AsyncClient) -> None:
    try:
        await asyncio.wait_for(sio.disconnect(), 10)
    except Exception:  # noqa: BLE001 - already gone
        pass
    await _close_http(sio)


async def _close_http(sio: socketio.AsyncClient) -> None:
    http = getattr(sio.eio, "http", None)
    if http is not None and not http.closed:
        await http.close()
