"""The time of a failed login does not tell whether the account exists, is
unconfirmed or throttled (SECURITY.md, "Passwords and credentials"); the time of
a recovery request does not tell whether the login and e-mail matched.

The full path — POST /auth/login through the HTTP app, the IP limit, the
throttle, bcrypt at cost 10, the audit trail and the commit — is sampled for
each kind of failure, interleaved in a random order, and the medians compared
with the median of a wrong password for an existing account.  Likewise the
«Забыли пароль?» handler for matching and non-matching pairs.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
import warnings
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lkk_app import db as db_module
from lkk_app.models import LoginThrottle
from lkk_app.auth import throttle, users
from lkk_app.core import clock
from tests.fixtures.database import BACKENDS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


PASSWORD = "Синий трактор 77"
SAMPLES = 30
WARMUP = 3
TOLERANCE = 0.10


# The app at a real bcrypt cost (the settings' lowest).  Every sample comes from
# its own address (X-Forwarded-For), so that the per-IP limit of 30 failures
# does not end the series.
pytestmark = [pytest.mark.slow, pytest.mark.timing,
              pytest.mark.app_settings(bcrypt_cost=10, LKK_BCRYPT_COST="10", LKK_TRUSTED_PROXY_HOPS="1")]


def _throttle(login: str, ip: str, *, failures: int, wait: timedelta) -> None:
    """Throttle ``login`` tried from ``ip`` (the sample's own address)."""
    key = throttle.client_key(login, ip=ip)
    with db_module.session_scope() as s:
        throttle.reset(s, key)
        for _ in range(failures):
            throttle.record_failure(s, key)
        s.execute(sa.update(LoginThrottle.__table__)
                  .where(LoginThrottle.__table__.c.key_hash == key)
                  .values(throttled_until=clock.utcnow() + wait))


def _reset(login: str, ip: str) -> None:
    with db_module.session_scope() as s:
        throttle.reset(s, throttle.client_key(login, ip=ip))


# One backend keeps the test near half a minute: PostgreSQL (production) when
# LKK_TEST_POSTGRES_URL is set, as in CI, otherwise SQLite.
@pytest.mark.parametrize("db_url", [BACKENDS[-1]], indirect=True)
def test_failed_logins_take_the_same_time(app_db):
    from lkk_app.web.http import build_http_app

    with db_module.session_scope() as s:
        for login, confirmed in (("petrov", True), ("sidorov", False), ("ivanov", True),
                                 ("kozlov", True)):
            users.create_user(s, login=login, email=f"{login}@example.com", password=PASSWORD,
                              confirmed=confirmed)
    # ivanov: waiting (refused without a password check);
    # kozlov: the wait is over but the code is needed and missing.
    kinds = {
        # kind: (login, password, the throttle before each sample: None — none,
        # else (failures, wait))
        "existing, wrong password": ("petrov", "Неверный пароль 1", None),
        "unknown login": ("nobody-here", "Неверный пароль 1", None),
        "unconfirmed, wrong password": ("sidorov", "Неверный пароль 1", None),
        "throttled (waiting), right password": ("ivanov", PASSWORD, (5, timedelta(minutes=14))),
        "code needed but missing, right password": ("kozlov", PASSWORD, (5, timedelta(seconds=-1))),
    }
    expected = {
        "existing, wrong password": "e=invalid",
        "unknown login": "e=invalid",
        "unconfirmed, wrong password": "e=invalid",
        "throttled (waiting), right password": "e=wait",
        "code needed but missing, right password": "e=invalid",
    }
    rng = random.Random(20260301)
    with TestClient(build_http_app(), follow_redirects=False) as client:
        problems, report = _compare(_series(client, kinds, expected, rng, series=0))
        if problems:
            # A busy machine (other jobs on the same CPUs) can skew one series;
            # a real difference — a skipped bcrypt check is -50 % — shows in both.
            print(f"\nfirst series off ({'; '.join(problems)}); measuring again")
            problems, report = _compare(_series(client, kinds, expected, rng, series=1))
    assert not problems, f"{'; '.join(problems)} — {report}"


def _series(client, kinds, expected, rng, *, series: int) -> dict[str, list[float]]:
    """Wall-clock seconds of each POST, ``SAMPLES`` per kind after a warm-up,
    the kinds in a new random order every round."""
    times: dict[str, list[float]] = {k: [] for k in kinds}
    order = list(kinds)
    gc.collect()
    gc.disable()
    try:
        for round_no in range(WARMUP + SAMPLES):
            rng.shuffle(order)
            for n, kind in enumerate(order):
                login, password, throttled = kinds[kind]
                ip = f"10.{series * 100 + round_no}.{n}.1"
                if throttled is None:
                    _reset(login, ip)
                else:
                    _throttle(login, ip, failures=throttled[0], wait=throttled[1])
                headers = {"origin": "http://localhost:3000", "user-agent": "timing-test",
                           "x-forwarded-for": ip}
                t0 = time.perf_counter()
                response = client.post("/auth/login", data={"login": login, "password": password},
                                       headers=headers)
                elapsed = time.perf_counter() - t0
                assert response.status_code == 303, kind
                assert expected[kind] in response.headers["location"], (kind, response.headers)
                assert "lkk_session" not in response.headers.get("set-cookie", ""), kind
                if round_no >= WARMUP:
                    times[kind].append(elapsed)
    finally:
        gc.enable()
    return times


def _compare(times: dict[str, list[float]], reference_kind: str = "existing, wrong password",
             *, tolerance: float = TOLERANCE, at_least: float = 0.02) -> tuple[list[str], str]:
    """Each kind's median against the median of ``reference_kind``."""
    medians = {kind: statistics.median(values) for kind, values in times.items()}
    reference = medians[reference_kind]
    report = ", ".join(f"{kind}: {m * 1000:.1f} ms" for kind, m in medians.items())
    print(f"\nmedians over {len(next(iter(times.values())))} samples: {report}")
    problems = []
    # A bcrypt check at cost 10 takes tens of milliseconds: the path must spend two.
    if reference <= at_least:
        problems.append(f"{reference_kind} took only {reference * 1000:.1f} ms")
    for kind, median in medians.items():
        if abs(median - reference) > tolerance * reference:
            problems.append(f"{kind}: {(median - reference) / reference:+.1%}")
    return problems, report


# --------------------------------------------------------------------------- recovery

RECOVERY_SAMPLES = 20
# The answers are padded to the same floor: a difference of a few
# milliseconds — one more bucket, the letter's row — would already show.
RECOVERY_TOLERANCE = 0.03


@pytest.mark.parametrize("db_url", [BACKENDS[-1]], indirect=True)
def test_recovery_requests_take_the_same_time(app_db):
    """«Забыли пароль?» through its state handler (the worker thread, the
    limits, the audit trail, the letter in the outbox, the commit)."""
    import asyncio

    from lkk_app.models import OutboxMessage, RateEvent
    from lkk_app.state.forgot import ForgotState
    from tests.statekit import make_state, run_events

    with db_module.session_scope() as s:
        for login, confirmed in (("petrov", True), ("sidorov", False)):
            users.create_user(s, login=login, email=f"{login}@example.com", password=PASSWORD,
                              confirmed=confirmed)
    kinds = {
        "unknown login": ("nobody-here", "nobody-here@example.com"),
        "known login, another e-mail": ("petrov", "someone@example.com"),
        "matching pair (temporary password)": ("petrov", "petrov@example.com"),
        "matching pair, unconfirmed (confirmation link)": ("sidorov", "sidorov@example.com"),
    }

    def series(number: int) -> dict[str, list[float]]:
        times: dict[str, list[float]] = {k: [] for k in kinds}
        order = list(kinds)
        rng = random.Random(20260302 + number)
        for round_no in range(WARMUP + RECOVERY_SAMPLES):
            rng.shuffle(order)
            for n, kind in enumerate(order):
                with db_module.session_scope() as s:  # the limits must not refuse (untimed)
                    s.execute(sa.delete(RateEvent))
                    s.execute(sa.delete(OutboxMessage))
                login, email = kinds[kind]
                state = make_state(ForgotState, "/forgot", ip=f"10.{number * 100 + round_no}.{n}.1",
                                   user_agent="timing-test")
                t0 = time.perf_counter()
                asyncio.run(run_events(ForgotState.submit.fn(state, {"login": login, "email": email})))
                elapsed = time.perf_counter() - t0
                assert state.done, kind
                if round_no >= WARMUP:
                    times[kind].append(elapsed)
        return times

    problems, report = _compare(series(0), "unknown login", tolerance=RECOVERY_TOLERANCE,
                                at_least=0.0)
    if problems:
        print(f"\nfirst series off ({'; '.join(problems)}); measuring again")
        problems, report = _compare(series(1), "unknown login", tolerance=RECOVERY_TOLERANCE,
                                    at_least=0.0)
    assert not problems, f"{'; '.join(problems)} — {report}"
