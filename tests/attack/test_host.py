"""The Host header: only the public host (in development also loopback on the
same port) is answered, and no redirect ever names a host taken from the
request (host header injection, cache poisoning, password-reset style link
poisoning); the development server listens on loopback only."""

from __future__ import annotations

import re
import socket
import uuid
from pathlib import Path

import aiohttp
import pytest

EVIL = "evil.example"


def raw_request(port: int, method: str, path: str, host: str | None,
                headers: dict[str, str] | None = None, body: bytes = b"") -> tuple[int, dict, bytes]:
    """One HTTP/1.1 request written by hand to 127.0.0.1 (any Host header, even none)."""
    lines = [f"{method} {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall("\r\n".join(lines).encode("latin-1") + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found: dict[str, list[str]] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found.setdefault(name.strip().lower(), []).append(value.strip())
    return int(status_line.split()[1]), found, rest


@pytest.fixture(scope="module")
def redirecting_requests(db_env, app_server) -> list[tuple[str, str, dict, bytes]]:
    """(method, path, headers, body) of every route that may answer with a
    redirect: every page without its trailing slash (served as it is, but a
    foreign Host is refused first), a folder without its slash (the static
    files' directory redirect), every extra HTTP route of the app, and slash
    variants (Starlette's redirect_slashes)."""
    from lkk_app.web.http import build_http_app
    from lkk_app.lkk_app import app

    origin = {"Origin": app_server.url, "Content-Type": "application/x-www-form-urlencoded"}
    form = b"login=nobody&password=wrong+password"
    out: list[tuple[str, str, dict, bytes]] = []
    for route in app._unevaluated_pages:
        if route != "index":
            path = "/" + re.sub(r"\[+\.*(\w+)\]+", "x", route.strip("/"))
            out.append(("GET", path, {}, b""))
    for route in build_http_app().routes:
        path = re.sub(r"\{[^}]+\}", "A" * 43, route.path)
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            out.append((method, path, origin if method == "POST" else {}, form if method == "POST" else b""))
            out.append((method, path + "/", origin if method == "POST" else {}, form if method == "POST" else b""))
    out += [("GET", "/guides", {}, b""), ("GET", "/guides/", {}, b""), ("GET", "/?login=x", {}, b"")]
    paths = {p for _, p, _, _ in out}
    assert {"/register", "/auth/login", "/auth/logout", "/confirm/" + "A" * 43} <= paths
    return out


def test_a_foreign_host_is_refused_on_every_redirecting_route(app_server, redirecting_requests):
    redirected = 0
    for method, path, headers, body in redirecting_requests:
        status, h, _ = raw_request(app_server.port, method, path, app_server.url.split("//")[1],
                                   headers, body)
        redirected += 300 <= status < 400
        status, h, text = raw_request(app_server.port, method, path, EVIL, headers, body)
        assert status == 400, (method, path, status, h)
        assert "location" not in h, (method, path, h)
        assert EVIL.encode() not in text and not any(EVIL in v for vs in h.values() for v in vs)
        assert h["cache-control"] == ["no-store"] and h["x-frame-options"] == ["DENY"]
    # The list really covers redirects (login, logout, confirm, slash variants …).
    assert redirected >= 6, redirected


@pytest.mark.parametrize("host", [
    EVIL,
    f"{EVIL}:{{port}}",
    "localhost",                    # the public host, another port (80)
    "localhost:1",
    "127.0.0.1:1",
    "localhost.evil.example:{port}",
    "localhost:{port}.evil.example",
    "localhost:{port}@evil.example",
    "localhost:{port}/evil",
    "",
    "[::ffff:7f00:1]:{port}",
])
def test_foreign_host_values_are_refused(app_server, host):
    status, h, text = raw_request(app_server.port, "GET", "/register", host.format(port=app_server.port))
    assert status == 400, (host, status, h)
    assert "location" not in h


@pytest.mark.parametrize("host", ["localhost:{port}", "LOCALHOST:{port}", "127.0.0.1:{port}",
                                  "[::1]:{port}", "0.0.0.0:{port}"])
def test_loopback_hosts_on_the_same_port_are_answered_in_development(app_server, host):
    """The public address answers; the other loopback names the console may print
    send a page to it (its cookie and websocket live there)."""
    status, h, _ = raw_request(app_server.port, "GET", "/register?x=1", host.format(port=app_server.port))
    if host.lower().startswith("localhost"):
        assert status == 200, (host, status)
    else:
        assert status == 307 and h["location"] == [app_server.url + "/register?x=1"], (host, status, h)
        status, _, _ = raw_request(app_server.port, "POST", "/auth/logout", host.format(port=app_server.port),
                                   {"Origin": app_server.url})
        assert status == 303, status  # answered, not sent elsewhere


def test_redirects_never_name_a_host_from_the_request(app_server, redirecting_requests):
    """Whatever the (allowed) Host, X-Forwarded-Host or Forwarded say, an
    app-built or Starlette-built redirect carries a path of this site only."""
    port = app_server.port
    seen: dict[str, str] = {}
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        for method, path, headers, body in redirecting_requests:
            if host.startswith("127.") and method == "GET":
                continue  # sent to the public address (the test above)
            spoof = {**headers, "X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https",
                     "Forwarded": f"host={EVIL};proto=https", "X-Original-Host": EVIL}
            status, h, _ = raw_request(port, method, path, host, spoof, body)
            if 300 <= status < 400:
                (location,) = h["location"]
                seen[f"{method} {path}"] = location
                assert location.startswith("/") and not location.startswith(("//", "/\\")), (path, location)
                assert EVIL not in location and "localhost" not in location and "127.0.0.1" not in location
    # A page's own address without the slash is served as it is (no directory
    # redirect built from the Host header any more); the app's own redirects are paths.
    assert "GET /register" not in seen
    assert seen["POST /auth/logout"].startswith("/?")


def test_health_checks_answer_any_host(app_server):
    """Load balancers probe by address; /ping and /_health reveal nothing and never redirect."""
    for path in ("/ping", "/_health"):
        status, h, _ = raw_request(app_server.port, "GET", path, "10.0.0.7:8080")
        assert status == 200, path
        assert "location" not in h


def _ws_status(loop, app_server, host: str) -> int:
    async def handshake() -> int:
        url = f"ws://127.0.0.1:{app_server.port}/_event/?EIO=4&transport=websocket&token={uuid.uuid4()}"
        async with aiohttp.ClientSession() as s:
            try:
                async with s.ws_connect(url, headers={"Host": host, "Origin": app_server.url}) as ws:
                    first = await ws.receive(timeout=10)
                    assert first.type == aiohttp.WSMsgType.TEXT and first.data.startswith("0{")
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status

    return loop.run(handshake())


def test_websocket_with_a_foreign_host_is_refused(loop, app_server):
    assert _ws_status(loop, app_server, f"localhost:{app_server.port}") == 101
    assert _ws_status(loop, app_server, EVIL) == 403
    assert _ws_status(loop, app_server, f"{EVIL}:{app_server.port}") == 403


# ---------------------------------------------------------------------------- listening address


def _listening_addresses(port: int) -> list[str]:
    """Local addresses of the sockets listening on ``port`` (from /proc/net/tcp, tcp6)."""
    found = []
    for name, width in (("tcp", 8), ("tcp6", 32)):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                raw = bytes.fromhex(address)
                if width == 8:
                    found.append(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:
                    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                    found.append(socket.inet_ntop(socket.AF_INET6, words))
    return found


def test_the_development_server_listens_on_loopback_only(app_server):
    """Started like `reflex run` without --backend-host (tests/appserver.py), in
    development: rxconfig.py makes it 127.0.0.1 (`make run` passes HOST, default
    127.0.0.1).  Reflex's own default would be 0.0.0.0, every interface."""
    assert Path("/proc/net/tcp").exists(), "needs Linux /proc to see listening sockets"
    addresses = _listening_addresses(app_server.port)
    assert addresses, "no listening socket found for the server's port"
    assert all(a in ("127.0.0.1", "::1") for a in addresses), addresses


def test_dev_mailbox_answers_this_computer_only(app_server):
    host = f"localhost:{app_server.port}"
    status, _, text = raw_request(app_server.port, "GET", "/dev/mail", host)
    assert status == 200 and "Почтовый ящик разработчика".encode() in text
    # A tunnel or proxy on this computer relaying someone else's request.
    status, _, text = raw_request(app_server.port, "GET", "/dev/mail", host,
                                  {"X-Forwarded-For": "203.0.113.9"})
    assert status == 403 and "только на этом компьютере".encode() in text
