"""Two server workers on PostgreSQL with the Redis state manager: a person logs
in, binds a contract with the code from the letter and gives a reading while
their tab's websocket lands on one worker, then on the other (a reload opens a
new one); everything they did is there on both."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_contracts import _code_from, _find
from tests.browser.test_login import login_as

OPENED = re.compile(r"websocket opened on worker ([0-9a-f]{8})")


class Workers:
    """The worker of each websocket the server accepted, from its log (the
    test's one tab is the server's only client: the last line is its socket)."""

    def __init__(self, server) -> None:
        self.server = server

    @property
    def seen(self) -> list[str]:
        return OPENED.findall(self.server.log_text())

    def current(self, count: int | None = None, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while len(self.seen) < (count or 1) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.seen, "no websocket was accepted"
        return self.seen[-1]


def reload_onto_the_other_worker(page, workers: Workers, check) -> None:
    """Reload (a new websocket) until it lands on a worker other than the last
    one, checking the page each time."""
    before = workers.current()
    for _ in range(30):
        opened = len(workers.seen)
        page.reload()
        check()
        if workers.current(opened + 1) != before:
            return
    raise AssertionError(f"30 reloads all landed on worker {before}: {workers.seen}")


def test_a_person_works_across_two_workers(app_server, page, make_user, mailbox, cluster_redis):
    import redis

    workers = Workers(app_server)
    login, password, email = make_user()
    page.goto("/")
    login_as(page, login, password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    first = workers.current()
    assert re.fullmatch(r"[0-9a-f]{8}", first), workers.seen
    reload_onto_the_other_worker(
        page, workers, lambda: expect(page.get_by_test_id("profile-login")).to_have_text(login))

    # Binding: the code letter is asked for on one worker, the code entered on another.
    page.get_by_role("link", name="Договоры").click()
    expect(page.get_by_role("heading", name="Договоры", exact=True)).to_be_visible()
    _find(page, "771200000003", None, "Д-3001")
    expect(page.get_by_test_id("code-message")).to_be_visible()
    code = _code_from(mailbox, "petrov@ip-demo.example")
    page.get_by_label("Код подтверждения").fill(code)
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_test_id("bind-done")).to_have_text("Договор Д-3001 привязан к личному кабинету.")
    reload_onto_the_other_worker(
        page, workers, lambda: expect(page.get_by_test_id("contract-row")).to_have_count(1))

    # A reading, given on one worker, accepted by billing through the job queue.
    page.get_by_role("link", name="Показания").click()
    expect(page.get_by_test_id("window-line")).to_be_visible()
    field = page.get_by_test_id("meter-group").filter(has_text="Магазин").get_by_label(
        "Новое показание, зона сутки")
    field.fill("15 800,5")
    field.blur()
    page.get_by_role("button", name="Передать показания").click()
    expect(page.get_by_test_id("readings-done")).to_contain_text("Показания переданы в расчётную систему")
    deadline = time.monotonic() + 40
    while page.get_by_text("Принято", exact=True).count() < 1:
        assert time.monotonic() < deadline, "billing did not accept the reading"
        time.sleep(1)
        page.reload()
        expect(page.get_by_test_id("window-line")).to_be_visible()
    reload_onto_the_other_worker(
        page, workers, lambda: expect(page.get_by_test_id("given-row")).to_contain_text("Принято"))
    shot(page, "cluster-readings-accepted")

    assert len(set(workers.seen)) == 2, workers.seen
    # The tabs' state lives in Redis, where both workers find it.
    client = redis.Redis.from_url(cluster_redis)
    try:
        assert client.dbsize() > 0
    finally:
        client.close()
    # The receipt went out once, though each worker runs a sender.
    def receipts() -> list:
        return [m for m in mailbox.to(email) if "переданы" in str(m["Subject"])]

    deadline = time.monotonic() + 20
    while not receipts():
        assert time.monotonic() < deadline, "no receipt"
        time.sleep(0.2)
    assert "Д-3001" in str(receipts()[0]["Subject"])
    time.sleep(2)
    assert len(receipts()) == 1
