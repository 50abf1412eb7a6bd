"""The split shape (README «Demo deployment»): the pages built by
``reflex export`` and served by a static server on one host name, the server
(``reflex run --backend-only``) on another — two sites, both over TLS with a
certificate made here, both names mapped to loopback inside Chromium.

* ``split_site``: exports the pages (the check that ``reflex export`` builds)
  and starts the static site, the server and a TLS hop in front of it;
* ``split_browser``: Chromium that blocks third-party cookies (as Safari and
  Firefox do in their own ways), so that only the partitioned cookies of the
  split shape can carry the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import http.server
import json
import os
import signal
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.appserver import ROOT, VENV_BIN, free_port, server_env, using_server_database
from tests.browser.conftest import CAPTCHA_CODE, mailbox  # noqa: F401 - the fixture
from tests.fixtures.servers import CHROMIUM_ARGS

# Two sites, not two hosts of one site (lkk.test): each name is its own
# registrable domain, so the server's cookies are third-party on the pages.
FRONT_HOST = "pages-lkk.test"
API_HOST = "server-lkk.test"


@dataclasses.dataclass
class SplitSite:
    front_url: str
    api_url: str
    export_dir: Path
    env: dict[str, str]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for both host names (openssl)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=pages-lkk.test",
         "-addext", f"subjectAltName=DNS:{FRONT_HOST},DNS:{API_HOST}"],
        check=True, capture_output=True)
    return cert, key


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class TlsHop:
    """TLS on ``port`` in front of the plain server on ``target`` (what a
    supplier's proxy does), bytes passed both ways unchanged."""

    def __init__(self, port: int, target: int, context: ssl.SSLContext) -> None:
        self.port, self.target, self.context = port, target, context
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, "127.0.0.1", self.port, ssl=self.context), self.loop
        ).result(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    """The exported pages as a static host serves them: ``/contracts`` is
    ``contracts.html``; an unknown address gets ``404.html``; the headers
    ``python -m lkk_app.cli static-headers`` names go with every answer."""

    page_headers: list[tuple[str, str]] = []
    # Connections kept open, as a real host does (HTTP/1.0 closed each one, and
    # Chromium gave up on a stylesheet now and then: ERR_TOO_MANY_RETRIES).
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass

    def end_headers(self) -> None:
        for name, value in self.page_headers:
            self.send_header(name, value)
        super().end_headers()

    def send_head(self):  # type: ignore[no-untyped-def]
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        root = Path(self.directory)
        candidates = [root / path.lstrip("/"), root / (path.strip("/") + ".html"),
                      root / path.lstrip("/") / "index.html"]
        for candidate in candidates:
            if candidate.is_file():
                self.path = "/" + str(candidate.relative_to(root))
                return super().send_head()
        body = (root / "404.html").read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        import io

        return io.BytesIO(body)


def serve_static(directory: Path, port: int, headers: list[tuple[str, str]]) -> http.server.ThreadingHTTPServer:
    """Plain HTTP on loopback ``port`` (a :class:`TlsHop` goes in front)."""
    handler = type("Handler", (_StaticHandler,), {"page_headers": headers})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def wait_for(url: str, host: str, proc: subprocess.Popen, log_path: Path, timeout: float = 300) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(url, headers={"host": host}, verify=False, timeout=2).status_code == 200:  # noqa: S501
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server not ready after {timeout}s:\n{log_path.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def split_site(tmp_path_factory, mailbox) -> Iterator[SplitSite]:  # noqa: F811 - the fixture above
    data_dir = tmp_path_factory.mktemp("lkk-split")
    cert, key = make_certificate(data_dir)
    context = tls_context(cert, key)
    front_port, api_port, backend_port, static_port = free_port(), free_port(), free_port(), free_port()
    front_url, api_url = f"https://{FRONT_HOST}:{front_port}", f"https://{API_HOST}:{api_port}"
    env = server_env(backend_port, data_dir, LKK_PUBLIC_URL=api_url, LKK_FRONTEND_URL=front_url,
                     LKK_SMTP_HOST="127.0.0.1", LKK_SMTP_PORT=str(mailbox.port), LKK_SMTP_TLS="none",
                     LKK_CAPTCHA_FIXED_CODE=CAPTCHA_CODE, LKK_RATE_EXEMPT_IPS="127.0.0.1", LKK_DEMO="1")
    log_path = data_dir / "server.log"
    subprocess.run([str(VENV_BIN / "reflex"), "db", "migrate"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    # The export: the pages alone, pointed at the server's address.
    with open(log_path, "wb") as log:
        exported = subprocess.run(
            [str(VENV_BIN / "reflex"), "export", "--frontend-only", "--no-zip", "--env", "prod"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=900)
    assert exported.returncode == 0, log_path.read_text()[-4000:]
    export_dir = ROOT / env["REFLEX_WEB_WORKDIR"] / "build" / "client"
    assert json.loads((ROOT / env["REFLEX_WEB_WORKDIR"] / "env.json").read_text())["EVENT"] == \
        f"wss://{API_HOST}:{api_port}/_event"
    printed = subprocess.run([str(VENV_BIN / "python"), "-m", "lkk_app.cli", "static-headers", "--dir",
                              str(export_dir)], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    headers = [tuple(line.split(": ", 1)) for line in printed.stdout.splitlines()]
    assert headers[0][0] == "Content-Security-Policy" and "'unsafe-eval'" not in headers[0][1]
    static = serve_static(export_dir, static_port, headers)  # type: ignore[arg-type]
    front_hop = TlsHop(front_port, static_port, context)
    front_hop.start()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [str(VENV_BIN / "reflex"), "run", "--env", "prod", "--backend-only",
             "--backend-port", str(backend_port), "--backend-host", "127.0.0.1", "--loglevel", "info"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    hop = TlsHop(api_port, backend_port, context)
    hop.start()
    try:
        wait_for(f"https://127.0.0.1:{api_port}/ping", f"{API_HOST}:{api_port}", proc, log_path)
        yield SplitSite(front_url, api_url, export_dir, env, log_path)
    finally:
        hop.stop()
        front_hop.stop()
        static.shutdown()
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def split_db(split_site) -> Iterator[None]:
    """This process's settings and engine on the split server's database."""
    with using_server_database(split_site):  # type: ignore[arg-type]
        yield


@pytest.fixture
def split_context(split_site, tmp_path) -> Iterator:
    """A fresh Chromium profile that blocks third-party cookies, both host
    names on loopback, the throwaway certificate accepted."""
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("LKK_CHROMIUM") or "/usr/bin/chromium"
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    # Chromium's own setting «Block third-party cookies».
    (profile / "Default" / "Preferences").write_text(json.dumps(
        {"profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}}))
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=chromium, locale="ru-RU", accept_downloads=True,
            ignore_https_errors=True, base_url=split_site.front_url,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {FRONT_HOST} 127.0.0.1, MAP {API_HOST} 127.0.0.1",
                  "--test-third-party-cookie-phaseout"])
        context.set_default_timeout(20_000)
        yield context
        context.close()
