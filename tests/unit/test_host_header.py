"""The security middleware's Host check and its redirect rewriting, in process
(the running server is attacked in tests/attack/test_host.py)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from starlette.datastructures import URL
from starlette.responses import PlainTextResponse, RedirectResponse

from lkk_app.web.asgi import security_middleware
from lkk_app.web.asgi.host import allowed_hosts, parse_host, relative_location


async def starlette_like_app(scope, receive, send):
    """Answers like Starlette's StaticFiles / redirect_slashes: a redirect to the
    same URL with a trailing slash, built from the request (Host included)."""
    if scope["path"].endswith("/") or scope["path"] in ("/ping", "/_health"):
        response = PlainTextResponse("ok")
    else:
        url = URL(scope=scope)
        response = RedirectResponse(url=url.replace(path=url.path + "/"))
    await response(scope, receive, send)


def call(settings, path: str, host: str | None, kind: str = "http") -> tuple[int, dict[str, str], bool]:
    called = []

    async def app(scope, receive, send):
        called.append(scope)
        await starlette_like_app(scope, receive, send)

    mw = security_middleware(app, settings=settings, static_dir=None)
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    headers = [] if host is None else [(b"host", host.encode("latin-1"))]
    scope = {"type": kind, "method": "GET", "path": path, "headers": headers, "query_string": b"",
             "scheme": "http", "server": ("127.0.0.1", 3000)}
    asyncio.run(mw(scope, receive, send))
    if kind == "websocket":
        return (403 if sent[0]["type"] == "websocket.close" else 0), {}, bool(called)
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, bool(called)


@pytest.fixture
def production(settings):
    return dataclasses.replace(settings, env="production", public_url="https://lkk.example.ru")


@pytest.mark.parametrize("host", ["lkk.example.ru", "LKK.Example.RU", "lkk.example.ru:443", "lkk.example.ru."])
def test_production_answers_the_public_host(production, host):
    status, headers, called = call(production, "/guides", host)
    assert called and status == 307
    # Starlette built "http://<Host>/guides/": sent as a path, neither host nor
    # the plain-http scheme seen behind the TLS proxy leaks into the redirect.
    assert headers["location"] == "/guides/"


@pytest.mark.parametrize("host", ["evil.example", "lkk.example.ru:80", "lkk.example.ru:3000",
                                  "localhost:3000", "127.0.0.1", "lkk.example.ru.evil.example",
                                  "lkk.example.ru@evil.example", "", " ", "lkk.example.ru:99999"])
def test_production_refuses_any_other_host(production, host):
    status, headers, called = call(production, "/guides", host)
    assert (status, called) == (400, False)
    assert "location" not in headers
    assert headers["cache-control"] == "no-store" and "content-security-policy" in headers


def test_websocket_with_a_foreign_host_is_closed_before_the_accept(production):
    assert call(production, "/_event/", "evil.example", kind="websocket")[::2] == (403, False)
    assert call(production, "/_event/", "lkk.example.ru", kind="websocket")[2] is True


def test_health_checks_and_requests_without_host_pass(production):
    for path in ("/ping", "/_health"):
        assert call(production, path, "10.1.2.3:3000")[::2] == (200, True)
    # HTTP/1.0 without Host: Starlette falls back to the server's own address.
    status, headers, called = call(production, "/guides", None)
    assert called and headers["location"] == "/guides/"


def test_development_also_answers_loopback_on_the_same_port(settings):
    dev = dataclasses.replace(settings, public_url="http://localhost:3000")
    status, headers, called = call(dev, "/guides", "localhost:3000")
    assert called and headers["location"] == "/guides/"
    for host in ("localhost:3001", "localhost", "evil.example:3000", "192.168.1.5:3000"):
        assert call(dev, "/guides", host)[0] == 400, host


@pytest.mark.parametrize("host", ["127.0.0.1:3000", "[::1]:3000", "0.0.0.0:3000"])
def test_development_sends_the_printed_loopback_addresses_to_the_public_one(settings, host):
    """The console prints http://127.0.0.1:3000 or http://0.0.0.0:3000; the session
    cookie and the websocket belong to LKK_PUBLIC_URL: a page asked for there is
    redirected (an absolute address this time), other requests are answered."""
    dev = dataclasses.replace(settings, public_url="http://localhost:3000")
    scope_query = "/profile"
    status, headers, called = call(dev, scope_query, host)
    assert (status, called) == (307, False)
    assert headers["location"] == "http://localhost:3000/profile"
    assert call(dev, "/ping", host)[0] == 200
    assert call(dev, "/_event/", host, kind="websocket")[2] is True
    prod = dataclasses.replace(settings, env="production", public_url="https://lkk.example.ru")
    assert call(prod, "/profile", host)[0] == 400


def test_allowed_hosts_table(settings):
    dev = dataclasses.replace(settings, public_url="http://localhost:3000")
    assert allowed_hosts(dev, [8000]) == {(n, p) for n in ("localhost", "127.0.0.1", "::1", "0.0.0.0")
                                          for p in (3000, 8000)}
    prod = dataclasses.replace(settings, env="production", public_url="https://lkk.example.ru:8443")
    assert allowed_hosts(prod, [8000]) == {("lkk.example.ru", 8443)}
    assert parse_host("[::1]:3000", 80) == ("::1", 3000)
    assert parse_host("Host.Example.", 443) == ("host.example", 443)
    assert parse_host("a b", 80) is None and parse_host("x:0", 80) is None


@pytest.mark.parametrize("location,expected", [
    ("http://lkk.example.ru/register/", "/register/"),
    ("https://LKK.example.ru/?out=1#top", "/?out=1#top"),
    ("http://lkk.example.ru", "/"),
    ("http://lkk.example.ru//evil.example/x", "/evil.example/x"),
    ("/profile", "/profile"),
    ("https://other.example/x", "https://other.example/x"),
])
def test_relative_location(location, expected):
    assert relative_location(location, {"lkk.example.ru"}) == expected


def test_the_redirect_to_the_public_address_keeps_an_odd_path_as_sent(settings):
    dev = dataclasses.replace(settings, public_url="http://localhost:3000")
    sent: list[dict] = []

    async def app(scope, receive, send):
        raise AssertionError("redirected before the app")

    async def send(message):
        sent.append(message)

    mw = security_middleware(app, settings=dev, static_dir=None)
    scope = {"type": "http", "method": "GET", "path": "/профиль", "raw_path": b"/%D0%BF%D1%80",
             "query_string": b"a=%D0%B1", "headers": [(b"host", b"127.0.0.1:3000")],
             "scheme": "http", "server": ("127.0.0.1", 3000)}
    asyncio.run(mw(scope, None, send))
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 307
    assert headers[b"location"] == b"http://localhost:3000/%D0%BF%D1%80?a=%D0%B1"
