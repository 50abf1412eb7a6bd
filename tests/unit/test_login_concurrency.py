"""Login limits under real concurrency: many POST /auth/login at the same
moment — threads, each with its own HTTP client and database session, and
separate worker processes — on SQLite and PostgreSQL.

"Checked" means the password was really compared (``users.authenticate``
ran for a wrong password: the audit trail's ``login_failure`` rows with detail
``password``).  The limits: 5 per login and client before the code and the
wait, 30 failures per IP in 10 minutes.
"""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
from sqlmodel import select

from lkk_app import db as db_module
from lkk_app.models import AuditEvent
from lkk_app.auth import users
from tests.unit.test_login_route import CODE, PASSWORD, logged_in, make_user, post, query

# bcrypt at cost 8 takes long enough (≈ 15 ms) for requests to overlap inside
# the password check, where the old check-then-count code let them all pass.
COST = 8


pytestmark = pytest.mark.app_settings(bcrypt_cost=COST, LKK_CAPTCHA_FIXED_CODE=CODE)


def checked_passwords() -> int:
    """How many wrong passwords were really compared."""
    with db_module.session_scope() as s:
        return len(s.exec(select(AuditEvent.id).where(AuditEvent.event == "login_failure")
                          .where(AuditEvent.detail == "password")).all())


def burst(requests: list[tuple[str, str, str]]) -> list:
    """POST every (login, password, ip) at the same moment, one thread and one
    HTTP client each; the responses in the same order."""
    barrier = threading.Barrier(len(requests))
    answers: list = [None] * len(requests)
    errors: list[BaseException] = []

    def run(n: int, login: str, password: str, ip: str) -> None:
        try:
            barrier.wait(timeout=30)
            answers[n] = post(login, password, ip=ip)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n, *r)) for n, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert all(a is not None for a in answers)
    return answers


def test_twenty_concurrent_wrong_passwords_get_five_checked(app_db, capsys):
    make_user("petrov")
    answers = burst([("petrov", f"wrong {n}", "192.0.2.10") for n in range(20)])
    checked = checked_passwords()
    with capsys.disabled():
        print(f"\n20 concurrent wrong passwords for one login: {checked} checked (limit 5)")
    assert checked <= 5
    assert all(not logged_in(a) for a in answers)
    # The first five went through; all the others were told to wait or to give the code.
    assert sum(query(a)["e"] == "invalid" and "cap" not in query(a) for a in answers) <= 4
    assert all(query(a)["e"] in ("invalid", "wait") for a in answers)


def test_the_right_password_beyond_the_limit_is_refused(app_db, monkeypatch, capsys):
    """21 at once: 20 wrong passwords, held inside the password check, then the
    right one without a code — it is beyond the limit, so it is refused."""
    make_user("petrov")
    gate = threading.Event()
    entered: list[int] = []
    finished: list[int] = []
    real = users.authenticate

    def held(session, *, login, password, settings=None):
        if password != PASSWORD:
            entered.append(1)
            gate.wait(timeout=60)
        return real(session, login=login, password=password, settings=settings)

    monkeypatch.setattr(users, "authenticate", held)

    def wrong(n: int) -> None:
        post("petrov", f"wrong {n}")
        finished.append(1)

    threads = [threading.Thread(target=wrong, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    # Every wrong one is either inside the check or already answered.
    while len(entered) + len(finished) < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    in_check = len(entered)
    try:
        right = post("petrov", PASSWORD)
    finally:
        gate.set()
        for t in threads:
            t.join(timeout=60)
    with capsys.disabled():
        print(f"\nright password 21st, 20 wrong ones in flight: {in_check} in the check, "
              f"logged in: {logged_in(right)}")
    assert in_check <= 5
    assert not logged_in(right)
    assert query(right)["e"] in ("wait", "invalid") and query(right).get("cap") == "1"


def test_a_burst_of_21_with_the_right_password_9th(app_db, capsys):
    """All 21 at once (the right one started 9th): it logs in only if it got
    one of the five places; a success ends the series, so the wrong ones after
    it start a new one — at most 5 before and 4 after."""
    make_user("petrov")
    requests = [("petrov", PASSWORD if n == 8 else f"wrong {n}", "192.0.2.10") for n in range(21)]
    answers = burst(requests)
    wrong_checked = checked_passwords()
    with capsys.disabled():
        print(f"\nburst of 21, right password 9th: {wrong_checked} wrong ones checked, "
              f"logged in: {logged_in(answers[8])}")
    assert wrong_checked <= (9 if logged_in(answers[8]) else 5)
    assert all(not logged_in(a) for n, a in enumerate(answers) if n != 8)


def test_sixty_concurrent_failures_from_one_ip_get_thirty_checked(app_db, capsys):
    # 60 different logins, so that only the per-IP limit can stop them.
    answers = burst([(f"guess{n}", "wrong", "198.51.100.7") for n in range(60)])
    checked = checked_passwords()
    with capsys.disabled():
        print(f"\n60 concurrent failures from one IP: {checked} checked (limit 30)")
    assert checked <= 30
    assert sum(query(a)["e"] == "ip" for a in answers) >= 30
    # The address stays refused, the right password included.
    make_user("petrov")
    assert query(post("petrov", PASSWORD, ip="198.51.100.7"))["e"] == "ip"


def _worker(barrier, results, count: int, offset: int) -> None:  # pragma: no cover - child process
    """One "worker process": its own engine, ``count`` concurrent posts."""
    db_module.reset_engine()
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        answer = post("petrov", f"wrong {offset + n}")
        with lock:
            outcomes.append(answer.headers["location"])

    barrier.wait(timeout=60)
    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    results.put(outcomes)


def test_several_worker_processes_share_the_limit(app_db, capsys):
    """4 processes × 5 concurrent wrong passwords for one login: still 5 checked."""
    make_user("petrov")
    db_module.reset_engine()  # no pooled connection may cross the fork
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(4)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(barrier, results, 5, 5 * n)) for n in range(4)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert sum(len(o) for o in outcomes) == 20
    checked = checked_passwords()
    with capsys.disabled():
        print(f"\n4 worker processes x 5 concurrent wrong passwords: {checked} checked (limit 5)")
    assert checked <= 5
