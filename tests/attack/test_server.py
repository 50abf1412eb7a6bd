"""The production server (gunicorn + uvicorn, lkk_app/web/asgi/server.py) as
a client meets it: the address a session is opened from is the connection's,
whatever X-Forwarded-For says (no proxy hop is trusted by default), and a
websocket message far above Engine.IO's limit is refused by the protocol
(a message Engine.IO would take — 60 000 characters of Cyrillic, 120 KB —
passes: tests/attack/test_fuzz.py)."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import httpx
from sqlmodel import select

from lkk_app.db import session_scope
from lkk_app.models import UserSession


def test_a_forwarded_address_from_an_untrusted_client_is_not_believed(app_server, make_account):
    account = make_account("fwd")
    r = httpx.post(app_server.url + "/auth/login",
                   headers={"Origin": app_server.url, "X-Forwarded-For": "203.0.113.77",
                            "Forwarded": "for=203.0.113.78"},
                   data={"login": account.login, "password": account.password}, timeout=60)
    assert r.status_code == 303 and "lkk_session=" in r.headers.get("set-cookie", "")
    with session_scope() as s:
        ips = {row.ip for row in s.exec(select(UserSession).where(UserSession.user_id == account.id))}
    assert ips == {"127.0.0.1"}


def test_the_server_does_not_name_itself(app_server):
    r = httpx.get(app_server.url + "/ping", timeout=20)
    assert r.status_code == 200 and "server" not in r.headers


def test_an_oversized_websocket_message_closes_the_socket(app_server, loop):
    async def run() -> tuple[aiohttp.WSMsgType, int | None]:
        url = (app_server.url.replace("http", "ws", 1)
               + f"/_event/?EIO=4&transport=websocket&token={uuid.uuid4()}")
        async with aiohttp.ClientSession() as session, session.ws_connect(
                url, headers={"Origin": app_server.url}, autoping=True) as ws:
            assert (await ws.receive_str()).startswith("0")
            await ws.send_str("40/_event,")
            await ws.send_str('42/_event,["event","' + "x" * (300 * 1024) + '"]')
            while True:
                msg = await asyncio.wait_for(ws.receive(), 20)
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):
                    return msg.type, ws.close_code
    kind, code = loop.run(run())
    assert kind in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), kind
    assert code == 1009, code  # "message too big", from the protocol, before it is held whole
    assert httpx.get(app_server.url + "/ping", timeout=20).status_code == 200
