"""Only the configured public origin may open the websocket or change state
over HTTP (cross-site websocket hijacking, CSRF, login CSRF)."""

from __future__ import annotations

import re
import uuid

import aiohttp
import httpx
import pytest

from tests.attack.reflex_client import NO_PAGE, Refused

EVIL = "https://evil.example"
FOREIGN_ORIGINS = [EVIL, "null", "http://localhost.evil.example", "http://127.0.0.1:1"]


def _ws_status(loop, app_server, origin: str | None, cookie: str | None = None) -> int:
    """HTTP status of a bare websocket handshake to /_event (101 = accepted)."""

    async def handshake() -> int:
        url = (app_server.url.replace("http://", "ws://")
               + f"/_event/?EIO=4&transport=websocket&token={uuid.uuid4()}")
        headers = {}
        if origin is not None:
            headers["Origin"] = origin
        if cookie is not None:
            headers["Cookie"] = cookie
        async with aiohttp.ClientSession() as s:
            try:
                async with s.ws_connect(url, headers=headers) as ws:
                    first = await ws.receive(timeout=10)
                    assert first.type == aiohttp.WSMsgType.TEXT and first.data.startswith("0{")
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status

    return loop.run(handshake())


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_socketio_from_a_foreign_origin_is_refused(client, origin):
    with pytest.raises(Refused):
        client(origin=origin)


def test_foreign_origin_with_a_valid_session_cookie_is_refused(loop, app_server, client, make_account, mint):
    """Cross-site websocket hijacking: the victim's browser would send its cookie."""
    victim = make_account("cswsh")
    cookie = victim.cookie(mint(victim))
    assert _ws_status(loop, app_server, EVIL, cookie) == 403
    with pytest.raises(Refused):
        client(origin=EVIL, cookie=cookie)
    # The same cookie from the app's own origin works: the refusal is the origin's doing.
    c = client(cookie=cookie)
    updates = c.hydrate("/profile")
    assert victim.email in c.text(updates)


def test_own_origin_connects_and_speaks_reflex(client):
    c = client()
    assert c.connected
    updates = c.hydrate(NO_PAGE)
    assert updates and c.connected


def test_raw_handshake_status(loop, app_server):
    assert _ws_status(loop, app_server, app_server.url) == 101
    for origin in FOREIGN_ORIGINS:
        assert _ws_status(loop, app_server, origin) == 403, origin


def test_no_origin_header_is_not_a_browser(loop, app_server):
    """Browsers always send Origin on a websocket; a client without one is a
    script that could fake any header, and cannot carry a victim's cookie."""
    assert _ws_status(loop, app_server, None) == 101


def test_polling_transport_is_refused_from_foreign_origins(app_server):
    url = app_server.url + "/_event/?EIO=4&transport=polling"
    for origin in FOREIGN_ORIGINS:
        r = httpx.get(url, headers={"Origin": origin}, timeout=10)
        assert r.status_code == 403, (origin, r.status_code)
    # From the own origin the server still only speaks websocket.
    r = httpx.get(url, headers={"Origin": app_server.url}, timeout=10)
    assert r.status_code == 400


# ---------------------------------------------------------------------------- HTTP


@pytest.fixture(scope="module")
def state_changing_routes(db_env) -> list[tuple[str, str]]:
    from lkk_app.web.http import build_http_app

    out = []
    for route in build_http_app().routes:
        for method in sorted(route.methods or ()):
            if method not in ("GET", "HEAD"):
                out.append((method, route.path))
    assert ("POST", "/auth/login") in out and ("POST", "/auth/logout") in out
    return out


def test_every_state_changing_route_refuses_foreign_origins(app_server, state_changing_routes):
    for method, path in state_changing_routes:
        for headers in ({"Origin": EVIL}, {"Origin": "null"},
                        {"Referer": EVIL + "/page"},  # no Origin, foreign Referer
                        {}):  # neither
            r = httpx.request(method, app_server.url + path, headers=headers,
                              data={"login": "x", "password": "y"}, timeout=20)
            assert r.status_code == 403, (method, path, headers, r.status_code)
            assert "set-cookie" not in r.headers, (method, path, headers)


def test_login_csrf_is_refused(app_server, make_account, snapshot):
    """A foreign page posting the attacker's (valid) credentials gets no session."""
    attacker = make_account("lcsrf")
    before = snapshot()
    for headers in ({"Origin": EVIL}, {"Referer": EVIL + "/"}):
        r = httpx.post(app_server.url + "/auth/login", headers=headers,
                       data={"login": attacker.login, "password": attacker.password}, timeout=20)
        assert r.status_code == 403 and "set-cookie" not in r.headers
    assert snapshot()["lkk_session"] == before["lkk_session"]
    # The same post from the own origin logs in (so the refusal above is the origin's doing).
    r = httpx.post(app_server.url + "/auth/login", headers={"Origin": app_server.url},
                   data={"login": attacker.login, "password": attacker.password}, timeout=20)
    assert r.status_code == 303 and re.search(r"lkk_session=", r.headers.get("set-cookie", ""))


def test_forced_logout_from_a_foreign_site_is_refused(app_server, make_account, mint, db_env):
    from lkk_app.db import session_scope
    from lkk_app.auth import sessions

    victim = make_account("flog")
    token = mint(victim)
    r = httpx.post(app_server.url + "/auth/logout", headers={"Origin": EVIL, "Cookie": victim.cookie(token)},
                   timeout=20)
    assert r.status_code == 403
    with session_scope() as s:
        assert sessions.resolve_session(s, token) is not None


def test_unsafe_methods_on_any_path_refuse_foreign_origins(app_server):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/", "/profile", "/ping", "/_event/", "/no/such/route"):
            r = httpx.request(method, app_server.url + path, headers={"Origin": EVIL}, timeout=10)
            assert r.status_code == 403, (method, path, r.status_code)
