"""A page's address without the trailing slash reaches the page's folder."""

from __future__ import annotations

import asyncio

import pytest

from lkk_app import routes
from lkk_app.web.asgi.page_paths import PagePaths, folder_of


def test_every_cabinet_page_but_the_login_has_its_folder():
    paths = {page.path for page in routes.pages()}
    assert routes.PROFILE in paths and routes.LOGIN in paths and routes.NOT_FOUND in paths
    assert folder_of("/" + routes.NOT_FOUND) is None
    for path in paths - {routes.LOGIN, routes.NOT_FOUND}:
        assert folder_of(path) == path + "/"
    assert folder_of(routes.LOGIN) is None
    assert folder_of(routes.PROFILE + "/") is None
    assert folder_of("/profile/x") is None
    assert folder_of(routes.AUTH_LOGIN) is None


@pytest.mark.parametrize(("method", "path", "seen"), [
    ("GET", "/profile", "/profile/"),
    ("HEAD", "/documents", "/documents/"),
    ("POST", "/profile", "/profile"),
    ("GET", "/profile/", "/profile/"),
    ("GET", "/assets/x-ABCDEFGH.js", "/assets/x-ABCDEFGH.js"),
])
def test_the_app_sees_the_folder(method, path, seen):
    got = {}

    async def app(scope, receive, send):
        got["path"], got["raw"], got["qs"] = scope["path"], scope["raw_path"], scope["query_string"]

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": b"contract=K"}
    asyncio.run(PagePaths(app)(scope, None, None))
    assert got == {"path": seen, "raw": seen.encode(), "qs": b"contract=K"}


def test_a_versioned_file_names_its_content():
    import hashlib
    from pathlib import Path

    from lkk_app.web.asgi.headers import IMMUTABLE_CACHE, cache_control

    url = routes.versioned(routes.SCRIPT)
    data = (Path(__file__).resolve().parents[2] / "assets" / "lkk.js").read_bytes()
    assert url == "/lkk.js?v=" + hashlib.sha256(data).hexdigest()[:12]
    query = url.split("?", 1)[1].encode()
    assert cache_control(routes.SCRIPT, 200, "text/javascript", query) == IMMUTABLE_CACHE
    assert cache_control(routes.SCRIPT, 200, "text/javascript") == b"no-cache"
    assert cache_control(routes.SCRIPT, 404, "text/plain", query) == b"no-store"


def test_the_logo_and_the_icon_are_named_with_their_version(tmp_path, monkeypatch):
    """A repeat visit takes them from the cache without asking; another logo, another address."""
    import dataclasses
    import hashlib
    from pathlib import Path

    from lkk_app import settings as settings_module
    from lkk_app.web.asgi.headers import IMMUTABLE_CACHE, cache_control

    logo = tmp_path / "logo.svg"
    logo.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    current = dataclasses.replace(settings_module.get_settings(), supplier_logo=logo)
    monkeypatch.setattr(settings_module, "get_settings", lambda: current)
    address = routes.supplier_logo_address()
    assert address == "/supplier-logo?v=" + hashlib.sha256(logo.read_bytes()).hexdigest()[:12]
    query = address.split("?", 1)[1].encode()
    assert cache_control(routes.SUPPLIER_LOGO, 200, "image/svg+xml", query) == IMMUTABLE_CACHE
    assert cache_control(routes.SUPPLIER_LOGO, 200, "image/svg+xml") == b"no-cache"
    for other in (b"v=", b"v=000000000000", b"v=" + query[2:] + b"x"):
        assert cache_control(routes.SUPPLIER_LOGO, 200, "image/svg+xml", other) == b"no-cache"
    logo.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg' width='2'/>")
    assert routes.supplier_logo_address() != address
    # The old address now names another version: not kept for a year.
    assert cache_control(routes.SUPPLIER_LOGO, 200, "image/svg+xml", query) == b"no-cache"

    icon = routes.versioned(routes.FAVICON)
    data = (Path(__file__).resolve().parents[2] / "assets" / "favicon.ico").read_bytes()
    assert icon == "/favicon.ico?v=" + hashlib.sha256(data).hexdigest()[:12]
    assert cache_control(routes.FAVICON, 200, "image/vnd.microsoft.icon",
                         icon.split("?", 1)[1].encode()) == IMMUTABLE_CACHE


@pytest.mark.parametrize(("path", "query", "location"), [
    ("/login", b"", b"/"),
    ("/login/", b"next=%2Fprofile", b"/?next=%2Fprofile"),
])
def test_login_is_another_name_of_the_login_window(path, query, location):
    sent = []

    async def app(scope, receive, send):
        raise AssertionError("answered by the alias")

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": query}
    asyncio.run(PagePaths(app)(scope, None, send))
    assert sent[0]["status"] == 307 and dict(sent[0]["headers"])[b"location"] == location


@pytest.mark.parametrize(("redis_url", "lines"), [("", 0), ("redis://127.0.0.1:6379/0", 1)])
def test_a_websocket_is_logged_with_its_worker_only_with_several_possible(settings, caplog, redis_url, lines):
    import dataclasses
    import logging

    from lkk_app.web.asgi.worker_label import WorkerLabel, worker_label

    async def app(scope, receive, send):
        await send({"type": "websocket.accept"})

    async def send(message):
        pass

    mw = WorkerLabel(app, dataclasses.replace(settings, redis_url=redis_url))
    with caplog.at_level(logging.INFO, logger="lkk.web"):
        asyncio.run(mw({"type": "websocket", "path": "/_event/"}, None, send))
    found = [r.getMessage() for r in caplog.records if "websocket opened" in r.getMessage()]
    assert found == [f"websocket opened on worker {worker_label()}"] * lines
