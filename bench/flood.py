"""A flood of public websocket events, measured the way an outside probe does.

Starts its own production-mode server (bcrypt cost 12, as in production),
then six raw Socket.IO clients send ``RegisterState.refresh_captcha`` (every
one draws an image) as fast as their sockets take it and disconnect.  Prints:

- events sent by the clients (a client the server closes connects again, up
  to ``--reconnects`` times), and how many the server worked through
  (captcha rows written) during the flood;
- how long work went on after the clients left (captcha rows still growing,
  server CPU still busy), watched for at most ``--watch`` seconds;
- a bystander's ``POST /auth/login`` (right password) before, during and just
  after the flood;
- how much the server log grew.

    .venv/bin/python bench/flood.py [--sockets 6] [--seconds 1] [--watch 60] [--reconnects 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.appserver import running_app  # noqa: E402
from tests.attack import flooder  # noqa: E402
from tests.attack.reflex_client import ROOT_STATE  # noqa: E402

REFRESH = f"{ROOT_STATE}.lkk_app___state___register____register_state.refresh_captcha"
PASSWORD = "Скамейка в парке 12"


def login_once(url: str) -> float:
    start = time.perf_counter()
    r = httpx.post(url + "/auth/login", data={"login": "bench", "password": PASSWORD},
                   headers={"Origin": url}, follow_redirects=False, timeout=60)
    elapsed = time.perf_counter() - start
    assert r.status_code == 303, r.status_code
    return elapsed


def captcha_rows() -> int:
    import sqlalchemy as sa

    from lkk_app.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM lkk_captcha")).scalar_one()


def fmt(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms "
            f"(n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--watch", type=float, default=60.0)
    parser.add_argument("--reconnects", type=int, default=50,
                        help="new connections per socket after the server closes one")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="lkk-flood-"))
    os.environ.setdefault("LKK_TEST_WEB_WORKDIR", ".web-bench")
    with running_app(data_dir, LKK_BCRYPT_COST="12") as server:
        url = server.url
        os.environ.update({k: v for k, v in server.env.items() if k.startswith(("LKK_", "REFLEX_"))})
        from lkk_app.db import session_scope
        from lkk_app.auth import users

        with session_scope() as s:
            users.create_user(s, login="bench", email="bench@example.com", password=PASSWORD,
                              confirmed=True)
        baseline = [login_once(url) for _ in range(5)]

        rows0, log0 = captcha_rows(), len(server.log_text())
        during: list[float] = []
        # The attacker in a process of its own (its CPU must not slow the bystander here).
        attacker = flooder.start(url, REFRESH, "/register", sockets=args.sockets,
                                 seconds=args.seconds, reconnects=args.reconnects)
        t0, cpu0 = time.monotonic(), server.cpu_seconds()
        while attacker.poll() is None:
            during.append(login_once(url))
        outcome = flooder.result(attacker)
        left = time.monotonic()
        flood_time = left - t0
        flood_cpu = server.cpu_seconds() - cpu0
        sent, attempts, refused = outcome["sent"], outcome["reconnects"], outcome["refused"]
        rows_at_leave = captcha_rows()
        after = [login_once(url) for _ in range(3)]

        # Watch the work that is left: rows and CPU, until both are still for 3 s.
        samples = [(time.monotonic(), captcha_rows(), server.cpu_seconds())]
        last_change = samples[0][0]
        while time.monotonic() - left < args.watch:
            time.sleep(0.5)
            now, rows, cpu = time.monotonic(), captcha_rows(), server.cpu_seconds()
            prev = samples[-1]
            busy = rows != prev[1] or (cpu - prev[2]) > 0.15 * (now - prev[0])
            samples.append((now, rows, cpu))
            if busy:
                last_change = now
            elif now - last_change >= 3:
                break
        still = time.monotonic() - last_change < 3
        end_rows = samples[-1][1]
        rate = (end_rows - rows_at_leave) / max(samples[-1][0] - left, 0.001)
        print(f"events sent by {args.sockets} sockets in {flood_time:.1f} s: {sum(sent)} ({sent})")
        print(f"connections again after the server closed one: {attempts}, refused: {refused}")
        print(f"server CPU during the flood (bystander's bcrypt included): {flood_cpu:.1f} s "
              f"in {flood_time:.1f} s")
        print(f"captcha rows drawn during the flood: {rows_at_leave - rows0}")
        print(f"work after the clients left: {max(last_change - left, 0):.1f} s"
              + (f" and still going at the end of the watch ({rate:.0f} rows/s)" if still else ""))
        print(f"captcha rows drawn after they left: {end_rows - rows_at_leave}")
        print(f"bystander login before: {fmt(baseline)}")
        print(f"bystander login during the flood: {fmt(during)}")
        print(f"bystander login right after: {fmt(after)}")
        print(f"server log growth: {(len(server.log_text()) - log0) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
