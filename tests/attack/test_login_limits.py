"""Login limits against the production server over real HTTP: concurrent
POST /auth/login from threads, as the outside probe sent them.

"Checked" means the server really compared a password: its audit trail's
``login_failure`` rows with detail ``password``.  All requests come from
127.0.0.1, so the per-IP count of failed logins is cleared before and after
each test (other tests log in from the same address).
"""

from __future__ import annotations

import threading

import httpx
import pytest
import sqlalchemy as sa

PASSWORD_WRONG = "Неверный пароль 0"


@pytest.fixture
def clean_ip(db_env):
    from lkk_app.db import session_scope
    from lkk_app.models import RateEvent

    def clear() -> None:
        with session_scope() as s:
            s.execute(sa.delete(RateEvent).where(RateEvent.bucket.like("login-fail:%")))

    clear()
    yield
    clear()


def checked(logins: list[str]) -> int:
    from lkk_app.db import session_scope
    from lkk_app.models import AuditEvent

    with session_scope() as s:
        return len(s.execute(sa.select(AuditEvent.id)
                             .where(AuditEvent.event == "login_failure")
                             .where(AuditEvent.detail == "password")
                             .where(AuditEvent.login.in_(logins))).all())


def burst(app_server, posts: list[dict]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(posts))
    answers: list = [None] * len(posts)

    def one(n: int) -> None:
        with httpx.Client(base_url=app_server.url, headers={"origin": app_server.url},
                          timeout=120) as http:
            barrier.wait(timeout=30)
            answers[n] = http.post("/auth/login", data=posts[n])

    threads = [threading.Thread(target=one, args=(n,)) for n in range(len(posts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert all(a is not None for a in answers)
    return answers


def logged_in(response: httpx.Response) -> bool:
    return "lkk_session=" in response.headers.get("set-cookie", "")


def test_twenty_concurrent_wrong_passwords_get_at_most_five_checked(app_server, make_account,
                                                                    clean_ip, capsys):
    victim = make_account("race")
    answers = burst(app_server, [{"login": victim.login, "password": f"{PASSWORD_WRONG}{n}"}
                                 for n in range(20)])
    count = checked([victim.login])
    with capsys.disabled():
        print(f"\n[production server] 20 concurrent wrong passwords: {count} checked (limit 5)")
    assert all(a.status_code == 303 and not logged_in(a) for a in answers)
    assert count <= 5


def test_the_right_password_in_a_burst_needs_a_place_within_the_limit(app_server, make_account,
                                                                      clean_ip, capsys):
    victim = make_account("race")
    posts = [{"login": victim.login, "password": victim.password if n == 8 else f"{PASSWORD_WRONG}{n}"}
             for n in range(21)]
    answers = burst(app_server, posts)
    wrong = checked([victim.login])
    with capsys.disabled():
        print(f"\n[production server] burst of 21, right password 9th: {wrong} wrong ones checked, "
              f"logged in: {logged_in(answers[8])}")
    # A success ends the series: at most 5 before it and 4 after it.
    assert wrong <= (9 if logged_in(answers[8]) else 5)
    assert not any(logged_in(a) for n, a in enumerate(answers) if n != 8)


def test_failures_from_one_address_in_concurrent_bursts_get_at_most_thirty_checked(
        app_server, make_account, clean_ip, capsys):
    # Bursts of 18: the most the server's bcrypt pool takes at once (2 running,
    # 16 waiting; beyond, «повторите попытку» at once).  The second burst
    # crosses the limit of 30 while its 18 requests are in flight together.
    logins = [f"spray{n}x{id(capsys) % 10000}" for n in range(54)]
    answers = []
    for start in range(0, len(logins), 18):
        answers += burst(app_server, [{"login": login, "password": PASSWORD_WRONG}
                                      for login in logins[start:start + 18]])
    count = checked(logins)
    refused = sum("e=ip" in a.headers.get("location", "") for a in answers)
    busy = sum("e=busy" in a.headers.get("location", "") for a in answers)
    with capsys.disabled():
        print(f"\n[production server] 54 failures from one IP in bursts of 18: {count} checked "
              f"(limit 30), {refused} refused by the IP limit, {busy} refused as busy")
    assert count <= 30
    assert count + refused + busy == 54
    assert refused >= 18  # the third burst came after the limit was reached
