"""The bounded pools for bcrypt and captcha drawing (lkk_app/cpu_pools.py), and
what the pages say when one is full."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
import warnings
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from lkk_app import cpu_pools
from lkk_app import db as db_module
from lkk_app.cpu_pools import BoundedPool, PoolBusy
from lkk_app.i18n import t
from lkk_app.models import CaptchaChallenge
from lkk_app.state.login import LoginState
from lkk_app.state.register import RegisterState
from tests.statekit import make_state, run_events

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ORIGIN = "http://localhost:3000"


class Full:
    """A pool with every slot taken by jobs waiting on a gate."""

    def __init__(self, pool: BoundedPool) -> None:
        self.pool = pool
        self.gate = threading.Event()
        self.jobs = [pool.submit(self.gate.wait, 20) for _ in range(pool.capacity)]

    def release(self) -> None:
        self.gate.set()
        for job in self.jobs:
            job.result(20)


@pytest.fixture
def full_pool(monkeypatch):
    """Replace one of the app's pools by a small one that is full."""
    made: list[Full] = []

    def _fill(name: str) -> Full:
        pool = BoundedPool(name, threads=1, waiting=1)
        monkeypatch.setattr(cpu_pools, name, pool)
        made.append(Full(pool))
        return made[-1]

    yield _fill
    for full in made:
        full.release()


# --------------------------------------------------------------------------- the pool


@pytest.mark.timing
def test_a_full_pool_refuses_at_once_and_takes_work_again_when_free():
    pool = BoundedPool("test", threads=2, waiting=3)
    full = Full(pool)
    started = time.monotonic()
    with pytest.raises(PoolBusy):
        pool.submit(time.sleep, 0)
    assert time.monotonic() - started < 0.1
    full.release()
    deadline = time.monotonic() + 5
    while pool.taken and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.taken == 0
    assert pool.submit(lambda: 7).result(5) == 7


def test_no_more_than_its_threads_run_at_once():
    pool = BoundedPool("test", threads=2, waiting=10)
    lock = threading.Lock()
    running = peak = 0

    def job():
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    for future in [pool.submit(job) for _ in range(8)]:
        future.result(10)
    assert peak == 2


@pytest.mark.asyncio
async def test_a_cancelled_caller_keeps_the_slot_until_its_job_ends():
    """Else cancelling handlers would let more work in than the threads can do."""
    pool = BoundedPool("test", threads=1, waiting=0)
    gate = threading.Event()
    task = asyncio.create_task(pool.run(gate.wait, 20))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(PoolBusy):
        pool.submit(time.sleep, 0)
    gate.set()
    deadline = time.monotonic() + 5
    while pool.taken and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert await pool.run(lambda: "free") == "free"


@pytest.mark.timing
def test_a_rate_refuses_beyond_its_jobs_per_second():
    pool = BoundedPool("test", threads=1, waiting=100, per_second=5)
    for _ in range(5):
        pool.submit(lambda: None).result(5)
    with pytest.raises(PoolBusy):
        pool.submit(lambda: None)
    time.sleep(0.25)  # one more token after 0.2 s
    pool.submit(lambda: None).result(5)


@pytest.mark.asyncio
async def test_context_variables_reach_the_thread():
    var = contextvars.ContextVar("var", default="unset")
    var.set("set by the caller")
    assert await BoundedPool("test", threads=1, waiting=0).run(var.get) == "set by the caller"


# --------------------------------------------------------------------------- the pages


def test_the_login_post_says_try_again_when_bcrypt_is_busy(app_db, full_pool):
    from lkk_app.web.http import build_http_app

    full_pool("PASSWORDS")
    started = time.monotonic()
    response = TestClient(build_http_app(), follow_redirects=False).post(
        "/auth/login", data={"login": "petrov", "password": "Синий трактор 77"},
        headers={"origin": ORIGIN})
    assert time.monotonic() - started < 2
    assert response.status_code == 303
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["e"] == ["busy"] and "login" not in query  # the login comes back in a cookie
    assert "lkk_login_hint=petrov" in response.headers.get("set-cookie", "")
    assert "lkk_session=" not in response.headers.get("set-cookie", "")


@pytest.mark.asyncio
async def test_the_login_window_shows_the_busy_message(app_db):
    state = make_state(LoginState, "/", query="e=busy&login=petrov")
    await LoginState.on_load.fn(state)
    assert state.error == t("busy.retry")


@pytest.mark.asyncio
async def test_registration_says_try_again_and_spends_nothing_when_bcrypt_is_busy(app_db, full_pool):
    state = make_state(RegisterState, "/register")
    await RegisterState.on_load.fn(state)
    challenge_id = state._captcha_id
    assert challenge_id and state.captcha_src
    full_pool("PASSWORDS")
    await run_events(RegisterState.submit.fn(state, {
        "login": "novikov", "email": "novikov@example.com", "phone": "",
        "password": "Синий трактор 77", "password_confirm": "Синий трактор 77", "code": "123456"}))
    assert state.form_error == t("busy.retry")
    assert state.submitting is False and state.done_email == ""
    with db_module.session_scope() as s:
        row = s.exec(select(CaptchaChallenge).where(CaptchaChallenge.challenge_id == challenge_id)).one()
        assert row.used_at is None


@pytest.mark.asyncio
async def test_a_busy_captcha_pool_shows_a_message_instead_of_the_image(app_db, full_pool):
    state = make_state(RegisterState, "/register")
    full = full_pool("CAPTCHA")
    await RegisterState.refresh_captcha.fn(state)
    assert state.captcha_src == "" and state._captcha_id == ""
    assert state.errors.get("code", "") == t("busy.captcha")
    full.release()
    deadline = time.monotonic() + 5
    while full.pool.taken and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await RegisterState.refresh_captcha.fn(state)
    assert state.captcha_src.startswith("data:image/png") and state.errors.get("code", "") == ""


@pytest.mark.asyncio
async def test_the_login_code_says_so_when_the_captcha_pool_is_busy(app_db, full_pool):
    full_pool("CAPTCHA")
    state = make_state(LoginState, "/", query="cap=1&login=petrov&e=invalid")
    await LoginState.on_load.fn(state)
    assert state.needs_code is True
    assert state.captcha_src == "" and state.captcha_id == ""
    assert state.error == t("busy.captcha")
