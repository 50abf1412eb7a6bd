"""Websocket message size: the server announces and enforces a small limit
(REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE, set in rxconfig.py), and one client's
oversized message costs only that client its connection."""

from __future__ import annotations

import json
import time
import uuid

import aiohttp

from tests.attack.conftest import assert_alive
from tests.attack.reflex_client import NO_PAGE, ROOT_STATE

LIMIT = 64 * 1024
FORGOT = f"{ROOT_STATE}.lkk_app___state___forgot____forgot_state.submit"


def _handshake(app_server, loop) -> dict:
    async def go() -> dict:
        url = app_server.url.replace("http://", "ws://") + f"/_event/?EIO=4&transport=websocket&token={uuid.uuid4()}"
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(url, headers={"Origin": app_server.url}) as ws:
                first = await ws.receive(timeout=10)
                return json.loads(first.data[1:])

    return loop.run(go())


def test_the_server_announces_the_limit(app_server, loop):
    """Proves the variable reaches the production server process (not just rxconfig)."""
    assert _handshake(app_server, loop)["maxPayload"] == LIMIT


def test_a_one_megabyte_event_closes_only_that_connection(client, app_server, server_log):
    bystander = client()
    bystander.hydrate(NO_PAGE)
    attacker = client()
    attacker.hydrate(NO_PAGE)
    big = {"form_data": {"login": "x" * (1024 * 1024), "email": "a@example.com"}}
    started = time.monotonic()
    attacker.emit_raw({"name": FORGOT, "payload": big, "router_data": {"pathname": "/forgot"}})
    deadline = time.monotonic() + 15
    while attacker.connected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not attacker.connected, "a 1 MB message did not close the connection"
    assert time.monotonic() - started < 15
    # The other client and the server carry on.
    assert bystander.connected
    assert bystander.call(FORGOT, {"form_data": {"login": "", "email": ""}}, path="/forgot")
    assert_alive(app_server)
    fresh = client()
    assert fresh.hydrate(NO_PAGE)
    assert "Traceback" not in server_log.new()


def test_a_large_but_normal_event_still_works(client):
    """Well under the limit: a form with every field at the 1024 characters the
    handlers read (the browser's biggest event is about 1.2 KB)."""
    c = client()
    updates = c.call(FORGOT, {"form_data": {"login": "Ж" * 1024, "email": "й" * 1024,
                                            "padding": "x" * 40_000}}, path="/forgot")
    assert c.connected and updates
