"""Registration attacked over a raw websocket, on the production-mode server.

* Probing logins: ``RegisterState.submit`` with an empty or wrong code and a
  taken login must not answer «занят» (an outside probe got 26 answers per
  second per connection that way).
* Mail cannon: one client registering again and again for 15 seconds with
  the code solved (here: the test server's fixed code, standing in for OCR)
  got 20 of 20 confirmation letters to one address; now at most 3 letters a
  day reach one address and 5 registrations an hour come from one IP.

The server does not count 127.0.0.1 against per-IP limits (the suite's own
traffic); these tests connect from other loopback addresses.
"""

from __future__ import annotations

import itertools
import time

from tests.attack.conftest import CAPTCHA_CODE, PASSWORD
from tests.attack.reflex_client import state_vars

TAKEN = "занят"
_ips = itertools.count(20)
# The server draws at most 5 new codes a second (lkk_app/cpu_pools.py, tested in
# test_event_limits.py); these tests are about the per-tab, per-IP and per-address
# limits, so every call that draws a code waits its turn.
DRAW_INTERVAL = 0.25
_last_draw = [0.0]


def _pace() -> None:
    wait = _last_draw[0] + DRAW_INTERVAL - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    _last_draw[0] = time.monotonic()


def _register_state() -> str:
    from lkk_app.state.register import RegisterState

    return RegisterState.get_full_name()


def _local_ip() -> str:
    return f"127.0.0.{next(_ips)}"


def _form(login: str, email: str, code: str) -> dict:
    return {"form_data": {"login": login, "email": email, "phone": "", "password": PASSWORD,
                          "password_confirm": PASSWORD, "code": code}}


def test_a_taken_login_is_not_told_without_the_right_code(client, make_account):
    account = make_account("taken")
    register = _register_state()
    c = client(local_ip=_local_ip())
    for code in ("", "000000", CAPTCHA_CODE[:-1], "0" * 16):
        _pace()
        c.hydrate("/register")
        _pace()
        updates = c.call(f"{register}.submit",
                         _form(account.login.upper(), "probe@example.org", code), path="/register")
        answer = state_vars(updates, register)
        assert TAKEN not in c.text(updates), (code, answer)
        assert answer.get("errors", {}).get("login", "") == ""
        assert answer["errors"]["code"] in ("Введите код с картинки",
                                            "Код введён неверно или устарел. Введите код с новой картинки")
    # The right code earns the answer (so the probe above could have seen it).
    _pace()
    c.hydrate("/register")
    _pace()
    updates = c.call(f"{register}.submit",
                     _form(account.login.upper(), "probe@example.org", CAPTCHA_CODE),
                     path="/register")
    assert state_vars(updates, register)["errors"]["login"] == "Этот логин уже занят, выберите другой"


def test_one_client_gets_at_most_three_letters_to_one_address_in_20_seconds(client, db_env):
    from sqlmodel import func, select

    from lkk_app.db import session_scope
    from lkk_app.models import OutboxMessage, User

    register = _register_state()
    address = f"victim{time.monotonic_ns() % 10**9}@example.org"
    ip = _local_ip()
    accepted = refused_ip = refused_other = 0
    started = time.monotonic()
    for n in range(20):  # bounded: at most 20 tries and 20 seconds
        if time.monotonic() - started > 20:
            break
        c = client(local_ip=ip)  # a new tab each time, as a script would
        _pace()
        c.hydrate("/register")
        _pace()
        updates = c.call(f"{register}.submit", _form(f"cannon{n}x{address[6:12]}", address,
                                                     CAPTCHA_CODE), path="/register")
        answer = state_vars(updates, register)
        if answer.get("done_email"):
            accepted += 1
        elif answer.get("form_error", "").startswith("С Вашего IP-адреса"):
            refused_ip += 1
        else:  # later: no more codes for this IP either
            assert answer.get("errors", {}).get("code", "").startswith(("Слишком много новых кодов",
                                                                        "Код введён неверно")), answer
            refused_other += 1
        c.close()
    with session_scope() as s:
        letters = s.exec(select(func.count()).select_from(OutboxMessage)
                         .where(OutboxMessage.recipient == address)).one()
        accounts = s.exec(select(func.count()).select_from(User)
                          .where(User.email == address)).one()
    print(f"\n{n + 1} tries in {time.monotonic() - started:.1f} s: {accepted} accepted, "
          f"{refused_ip} refused by the IP limit, {refused_other} without a code, "
          f"{accounts} accounts, {letters} letters to one address")
    assert accepted == accounts == 5, (accepted, accounts)
    assert refused_ip > 0 and accepted + refused_ip + refused_other == n + 1
    assert letters == 3


def test_a_flood_of_new_codes_from_one_ip_stops_drawing(client):
    register = _register_state()
    ip = _local_ip()
    c = client(local_ip=ip)
    _pace()
    c.hydrate("/register")  # 1
    sources = []
    for _ in range(15):  # 2…16: the tab's 15 per 10 minutes end after the 15th
        _pace()
        sources.append(state_vars(c.call(f"{register}.refresh_captcha", {}, path="/register"),
                                  register).get("captcha_src", ""))
    assert all(s.startswith("data:image/png") for s in sources[:14])
    assert sources[14] == ""
    # New tabs from the same IP: 30 per 10 minutes in all.
    fresh = []
    for _ in range(17):
        t = client(local_ip=ip)
        _pace()
        fresh.append(state_vars(t.hydrate("/register"), register))
        t.close()
    drawn = [v for v in fresh if v.get("captcha_src", "").startswith("data:image/png")]
    assert len(drawn) == 30 - 15
    assert fresh[-1].get("captcha_src", "") == ""
    assert fresh[-1]["errors"]["code"].startswith("Слишком много новых кодов")
