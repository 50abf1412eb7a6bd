"""Benchmarks of the cabinet: page weight, login latency, hashing.

Starts its own production-mode server on a free port (like the browser tests)
with the real bcrypt cost (12), measures, prints a table and stops it.
    make bench            # or: .venv/bin/python bench/run.py [--samples N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.appserver import running_app  # noqa: E402


def ms(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[max(0, int(len(values) * 0.9) - 1)]
    return f"median {statistics.median(values) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms (n={len(values)})"


def page_weight(url: str) -> tuple[int, int, int, int, int, int, int]:
    """The login page in Chromium, a first visit and a repeat one in the same
    browser: (requests, bytes over the network incl. headers, bytes decoded) of
    the first; (requests that went to the server, of them revalidations (304),
    bytes over the network — the websocket's handshake and frames included —, of
    them the websocket's) of the repeat (DevTools' Network events)."""
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("LKK_CHROMIUM") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"])
        context = browser.new_context()
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        seen: dict[str, dict] = {}
        def received(e: dict) -> None:
            entry = seen.setdefault(e["requestId"], {})
            entry["status"] = e["response"]["status"]
            if e["response"].get("fromDiskCache") or e["response"].get("fromPrefetchCache"):
                entry["cached"] = True

        cdp.on("Network.responseReceived", received)
        cdp.on("Network.requestServedFromCache", lambda e: seen.setdefault(e["requestId"], {}).update(
            cached=True))
        cdp.on("Network.loadingFinished", lambda e: seen.setdefault(e["requestId"], {}).update(
            wire=e["encodedDataLength"]))
        socket = {"bytes": 0}

        def frame(e: dict, overhead: int) -> None:
            # payload (text frames: one byte a character of ASCII JSON) + the frame's header
            socket["bytes"] += len(e["response"]["payloadData"].encode()) + overhead

        def handshake(e: dict, part: str) -> None:
            socket["bytes"] += sum(len(k) + len(v) + 4 for k, v in e[part]["headers"].items()) + 20

        cdp.on("Network.webSocketFrameSent", lambda e: frame(e, 6))  # the client masks its frames
        cdp.on("Network.webSocketFrameReceived", lambda e: frame(e, 4))
        cdp.on("Network.webSocketWillSendHandshakeRequest", lambda e: handshake(e, "request"))
        cdp.on("Network.webSocketHandshakeResponseReceived", lambda e: handshake(e, "response"))
        responses = []
        page.on("requestfinished", lambda req: responses.append(req))
        page.goto(url + "/", wait_until="networkidle")
        encoded = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"] for r in responses)
        decoded = 0
        for r in responses:
            resp = r.response()
            try:
                decoded += len(resp.body()) if resp else 0
            except Exception:
                pass
        first = len(responses)
        seen.clear()
        socket["bytes"] = 0
        page.goto(url + "/", wait_until="networkidle")  # the next visit: a link followed, not a reload
        page.wait_for_timeout(500)  # the websocket's answers after the load
        network = [e for e in seen.values() if not e.get("cached") and "status" in e]
        revalidated = sum(1 for e in network if e["status"] == 304)
        warm_bytes = sum(e.get("wire", 0) for e in network) + socket["bytes"]
        warm_socket = socket["bytes"]
        browser.close()
    return first, encoded, decoded, len(network), revalidated, warm_bytes, warm_socket


def redirects_after_login(url: str, login: str, password: str) -> int:
    """Redirects between the login form's POST and a page that answers 200."""
    with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as client:
        r = client.post("/auth/login", data={"login": login, "password": password},
                        headers={"Origin": url, "X-Forwarded-For": fresh_ip()})
        assert r.status_code == 303 and "e=" not in r.headers["location"], r.headers.get("location")
        hops = 0
        r = client.get(r.headers["location"])
        while 300 <= r.status_code < 400:
            hops += 1
            r = client.get(r.headers["location"])
        assert r.status_code == 200, r.status_code
        return hops


_next_ip = iter(range(1, 1 << 24))


def fresh_ip() -> str:
    """A source address of its own for each request (10.0.0.0/8), passed as the
    trusted proxy's X-Forwarded-For: the per-address limit on failed logins
    never turns a measured login into a cheap refusal."""
    n = next(_next_ip)
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def login_once(url: str, login: str, password: str, expect: str) -> float:
    """One POST /auth/login; ``expect`` "ok" (a session) or "invalid" (a
    wrong password) — anything else (a refusal by a limit) stops the run."""
    start = time.perf_counter()
    r = httpx.post(url + "/auth/login", data={"login": login, "password": password},
                   headers={"Origin": url, "X-Forwarded-For": fresh_ip()},
                   follow_redirects=False, timeout=30)
    elapsed = time.perf_counter() - start
    assert r.status_code == 303, r.status_code
    location = r.headers["location"]
    got = "ok" if "e=" not in location else location.split("e=", 1)[1].split("&", 1)[0]
    assert got == expect, f"{login}: expected {expect}, got {location}"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="lkk-bench-"))
    os.environ.setdefault("LKK_TEST_WEB_WORKDIR", ".web-bench")
    t0 = time.perf_counter()
    # The benchmark is the server's one trusted proxy hop (fresh_ip).
    with running_app(data_dir, LKK_BCRYPT_COST="12", LKK_TRUSTED_PROXY_HOPS="1") as server:
        startup = time.perf_counter() - t0
        url, env = server.url, server.env
        os.environ.update({k: v for k, v in env.items() if k.startswith(("LKK_", "REFLEX_"))})
        from lkk_app.db import session_scope
        from lkk_app.auth import passwords, users
        from lkk_app.settings import get_settings

        password = "Скамейка в парке 12"
        # A user for each wrong-password sample: the login's own throttle
        # (5 failures) would otherwise refuse the later ones without a check.
        wrong_users = [f"bench-w{n}" for n in range(args.samples * 2)]
        with session_scope() as s:
            for login in ["bench", *wrong_users]:
                users.create_user(s, login=login, email=f"{login}@example.com",
                                  password=password, confirmed=True)
        settings = get_settings()
        rows = [("server start incl. build (s)", f"{startup:.1f}")]
        n, encoded, decoded, warm, revalidated, warm_bytes, warm_socket = page_weight(url)
        rows.append(("login page: requests / transferred / decoded",
                     f"{n} / {encoded / 1024:.0f} KiB / {decoded / 1024:.0f} KiB"))
        rows.append(("login page again: to the server / revalidated / transferred (websocket)",
                     f"{warm} / {revalidated} / {warm_bytes / 1024:.1f} KiB ({warm_socket / 1024:.1f} KiB)"))
        rows.append(("redirects from the login POST to the profile page",
                     str(redirects_after_login(url, "bench", password))))
        stored = passwords.hash_password(password, secret_key=settings.secret_key, cost=12)
        t, cpu = [], []
        for _ in range(args.samples):
            s0, c0 = time.perf_counter(), time.process_time()
            passwords.verify_password(password, stored, secret_key=settings.secret_key)
            t.append(time.perf_counter() - s0)
            cpu.append(time.process_time() - c0)
        raw_cpu = statistics.median(cpu)
        rows.append(("bcrypt check, cost 12", ms(t) + f"; CPU {raw_cpu * 1000:.0f} ms"))

        def measured(label: str, calls: list[tuple[str, str, str]]) -> None:
            c0 = server.cpu_seconds()
            times = [login_once(url, *call) for call in calls]
            per_login = (server.cpu_seconds() - c0) / len(calls)
            rows.append((label, ms(times) + f"; server CPU {per_login * 1000:.0f} ms "
                                            f"= {per_login / raw_cpu:.2f} × a bcrypt check"))

        measured("POST /auth/login, right password",
                 [("bench", password, "ok")] * args.samples)
        measured("POST /auth/login, wrong password",
                 [(login, "wrong password", "invalid") for login in wrong_users[:args.samples]])
        measured("POST /auth/login, unknown login",
                 [(f"nobody-{n}", "wrong password", "invalid") for n in range(args.samples)])
        s0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: login_once(url, "bench", password, "ok"), range(16)))
        rows.append(("16 logins, 8 at a time (2 cores)", f"{time.perf_counter() - s0:.2f} s total"))
        pings = []
        with ThreadPoolExecutor(1) as pool:
            fut = pool.submit(lambda: [login_once(url, login, "wrong password", "invalid")
                                       for login in wrong_users[args.samples:args.samples + 4]])
            while not fut.done():
                p0 = time.perf_counter()
                httpx.get(url + "/ping", timeout=10)
                pings.append(time.perf_counter() - p0)
            fut.result()
        rows.append(("/ping while logins hash (event loop free)", ms(pings)))
        width = max(len(r[0]) for r in rows)
        for name, value in rows:
            print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
