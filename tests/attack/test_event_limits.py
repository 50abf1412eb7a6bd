"""Work one websocket client can cause (lkk_app/web/asgi/event_limits.py,
lkk_app/cpu_pools.py): a flood of public events stops with its clients and
does not slow a bystander's login; a connection with too many unfinished
events is closed and its queue dropped; rates per connection and per IP; a
deeply nested frame costs one log line, no traceback.

Every loop here is bounded in count and in time.  The tests share one client
IP (127.0.0.1), so each starts by letting that IP's bucket fill up again.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import aiohttp
import httpx

from lkk_app.web.asgi.event_limits import (CONNECTION_BURST, CONNECTION_RATE, IP_BURST, IP_RATE, MAX_DROPPED,
                                  MAX_PENDING)
from tests.attack import flooder
from tests.attack.conftest import assert_alive
from tests.attack.reflex_client import IS_HYDRATED, NAMESPACE, NO_PAGE, ROOT_STATE, SET_HYDRATED

REFRESH = f"{ROOT_STATE}.lkk_app___state___register____register_state.refresh_captcha"


def settle() -> None:
    """Long enough for the IP's bucket (and the captcha pool's rate) to be full again."""
    time.sleep(IP_BURST / IP_RATE + 0.5)


def captcha_rows() -> int:
    import sqlalchemy as sa

    from lkk_app.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM lkk_captcha")).scalar_one()


def hydrated_updates(updates: list[dict]) -> int:
    """Updates that carry the root state's ``is_hydrated``: one per handled set_is_hydrated."""
    return sum(1 for u in updates if IS_HYDRATED in ((u.get("delta") or {}).get(ROOT_STATE) or {}))


def log_lines(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


async def paced(c, count: int, per_second: float) -> tuple[int, float]:
    """``count`` alternating set_is_hydrated events at ``per_second`` (each
    changes the state, so each handled one sends an update); returns how many
    were sent and over how long."""
    start = time.monotonic()
    sent = 0
    for i in range(count):
        if not c.connected:
            break
        await c.sio.emit("event", {"name": SET_HYDRATED, "payload": {"value": i % 2 == 0},
                                   "router_data": c.router_data(NO_PAGE)}, namespace=NAMESPACE)
        sent += 1
        await asyncio.sleep(max(0.0, start + (i + 1) / per_second - time.monotonic()))
    return sent, time.monotonic() - start


def wait_until(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# --------------------------------------------------------------------------- the flood


def test_a_flood_stops_with_its_clients_and_logins_keep_their_pace(
        app_server, make_account, server_log):
    """Six sockets send «Обновить код» for 2 s as fast as they can (connecting
    again whenever the server closes one); a bystander logs in meanwhile.
    Before the limits the server went on drawing captchas for minutes."""
    settle()
    account = make_account("bystander")

    def login() -> float:
        started = time.perf_counter()
        r = httpx.post(app_server.url + "/auth/login", headers={"Origin": app_server.url},
                       data={"login": account.login, "password": account.password}, timeout=60)
        elapsed = time.perf_counter() - started
        assert r.status_code == 303 and "lkk_session=" in r.headers.get("set-cookie", "")
        return elapsed

    login()  # warm-up
    baseline = [login() for _ in range(7)]
    rows_before = captcha_rows()
    # The attacker runs in a process of its own, as it would on another machine.
    attacker = flooder.start(app_server.url, REFRESH, "/register", sockets=6, seconds=2.0,
                             reconnects=200)
    during: list[float] = []
    while attacker.poll() is None and len(during) < 40:
        during.append(login())
    outcome = flooder.result(attacker)  # its sockets are closed when it ends
    left = time.monotonic()
    drawn = captcha_rows() - rows_before
    assert sum(outcome["sent"]) > 1000, outcome  # a real flood...
    assert drawn > 0  # ...that reached the handler

    # Within 5 s of the clients leaving, no more work: no captcha row, no CPU.
    time.sleep(max(0.0, left + 5 - time.monotonic()))
    rows_5s, cpu_5s = captcha_rows(), app_server.cpu_seconds()
    time.sleep(3)
    rows_8s, cpu_8s = captcha_rows(), app_server.cpu_seconds()
    assert rows_8s == rows_5s, f"{rows_8s - rows_5s} captchas drawn 5–8 s after the clients left"
    assert cpu_8s - cpu_5s < 0.3, f"server busy 5–8 s after the clients left: {cpu_8s - cpu_5s:.2f} s CPU"

    assert during, "no login finished during the flood"
    assert statistics.median(during) < 2 * statistics.median(baseline), (baseline, during)
    log = server_log.new()
    assert "Traceback" not in log
    assert len(log) < 100_000, f"{len(log)} bytes of log for one flood"
    settle()


# --------------------------------------------------------------------------- one connection


def test_a_connection_with_too_many_unfinished_events_is_closed_and_its_queue_dropped(
        client, loop, server_log, db_env):
    settle()
    c = client()
    rows_before = captcha_rows()
    count = MAX_PENDING + 15  # within the connection's burst: only the cap stops them
    assert count < CONNECTION_BURST
    loop.run(c.flood(REFRESH, path="/register", seconds=5, max_events=count))
    assert wait_until(lambda: not c.connected, 10), "the connection stayed open"
    time.sleep(2)
    drawn = captcha_rows() - rows_before
    assert drawn <= MAX_PENDING + 1, f"{drawn} of {count} events handled after the cap"
    lines = log_lines(server_log.new(), "events unfinished")
    assert len(lines) == 1, lines
    assert "Traceback" not in server_log.new()
    # Others carry on.
    other = client()
    assert other.hydrate(NO_PAGE)
    settle()


def test_a_connection_over_its_rate_loses_the_excess_then_its_connection(client, loop, server_log):
    settle()
    c = client()
    start = len(c.updates)
    sent, elapsed = loop.run(paced(c, 150, per_second=100), 60)
    allowed = CONNECTION_BURST + CONNECTION_RATE * elapsed
    # The connection is closed after MAX_DROPPED events over the rate.
    assert sent >= allowed + MAX_DROPPED / 2, "the test did not send faster than the limit"
    assert wait_until(lambda: not c.connected, 10), "a connection over its rate stayed open"
    handled = hydrated_updates(c.updates[start:])
    assert handled <= allowed + 2, f"{handled} of {sent} events handled in {elapsed:.2f} s"
    lines = log_lines(server_log.new(), "events per second")
    assert len(lines) == 1, lines
    settle()
    assert client().hydrate(NO_PAGE)


def test_one_address_gets_its_rate_over_all_its_connections(client, loop, server_log):
    """Eight connections, each under its own rate, together over the IP's."""
    settle()
    conns = [client() for _ in range(8)]
    starts = [len(c.updates) for c in conns]
    per_connection = CONNECTION_RATE - 1

    async def all_paced():
        return await asyncio.gather(*(paced(c, int(per_connection * 2.5), per_connection)
                                      for c in conns))

    results = loop.run(all_paced(), 60)
    sent = sum(s for s, _ in results)
    elapsed = max(e for _, e in results)
    allowed = IP_BURST + IP_RATE * elapsed  # the 8 connects took 8 of the burst already
    assert sent > allowed + 20, "the test did not send faster than the limit"
    time.sleep(1)
    handled = sum(hydrated_updates(c.updates[s:]) for c, s in zip(conns, starts))
    assert handled <= allowed + 5, f"{handled} of {sent} events handled in {elapsed:.2f} s"
    assert handled >= IP_RATE * elapsed * 0.5, "the address got far less than its rate"
    # At most one line a minute for an address (an earlier test may have used it up).
    assert len(log_lines(server_log.new(), "from 127.0.0.1: more than")) <= 1
    settle()
    assert client().hydrate(NO_PAGE)


# --------------------------------------------------------------------------- nesting


def _nested_frame_closes(app_server, loop, depth: int) -> bool:
    """Open a raw Engine.IO websocket, join the namespace, send one event nested
    ``depth`` levels deep; True when the server then closes the connection."""
    async def go() -> bool:
        url = (app_server.url.replace("http://", "ws://")
               + f"/_event/?EIO=4&transport=websocket&token={uuid.uuid4()}")
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(url, headers={"Origin": app_server.url}) as ws:
                opened = await ws.receive(timeout=10)
                assert opened.data.startswith("0"), opened
                await ws.send_str(f"40{NAMESPACE},")
                joined = await ws.receive(timeout=10)
                assert joined.data.startswith(f"40{NAMESPACE},"), joined
                payload = '{"name":"' + SET_HYDRATED + '","payload":' + "[" * depth + "]" * depth + "}"
                await ws.send_str(f"42{NAMESPACE},[\"event\",{payload}]")
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    try:
                        msg = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
                    except asyncio.TimeoutError:
                        return False
                    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                    aiohttp.WSMsgType.CLOSING):
                        return True
                    if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "2":
                        await ws.send_str("3")  # pong
                return False

    return loop.run(go(), 30)


def test_a_deeply_nested_frame_costs_one_log_line_and_its_connection(app_server, loop, client,
                                                                     server_log):
    settle()
    frames = 3
    closed = [_nested_frame_closes(app_server, loop, 950) for _ in range(frames)]
    time.sleep(1)
    log = server_log.new()
    assert "Traceback" not in log and "RecursionError" not in log
    lines = [line for line in log.splitlines() if line.strip()]
    assert len(lines) <= frames, lines
    assert all(closed), closed
    assert len(log_lines(log, "nested more than")) == frames
    assert_alive(app_server)
    assert client().hydrate(NO_PAGE)
