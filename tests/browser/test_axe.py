"""Accessibility: axe-core (the copy pinned in requirements-dev.txt, from
``axe-playwright-python``) finds no violation on any page of the cabinet —
logged out and logged in, on a 1280 px screen and on a 375 px phone, the 404
page and the login window's code block included."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.test_login import login_as
from tests.browser.test_readings import fresh_billing, open_tab  # noqa: F401
from tests.browser.test_recovery import request_reset, temp_password
from tests.browser.test_throttle import submit

WIDTHS = (1280, 375)
# Every WCAG 2.x A/AA rule and axe's best practices.
OPTIONS = {"resultTypes": ["violations"],
           "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                 "wcag22aa", "best-practice"]}}

_axe = Axe()


def violations(page, what: str) -> list[str]:
    """axe at each width: a report per width with violations, naming every rule
    and element that fails."""
    reports = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900 if width > 480 else 740})
        page.wait_for_timeout(150)  # the layout settles (media queries, transitions)
        results = _axe.run(page, options=OPTIONS)
        if results.violations_count:
            reports.append(f"{what} at {width}px: {results.generate_report()}")
    return reports


def no_violations(page, what: str) -> None:
    reports = violations(page, what)
    assert not reports, "\n".join(reports)


def _ready(page, url: str) -> None:
    page.goto(url)
    expect(page.locator("h1").first).to_be_visible()
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("url", ["/", "/register", "/forgot", "/support",
                                 "/confirm-failed?reason=used", "/no-such-page"])
def test_pages_logged_out(page, app_server, url):
    _ready(page, url)
    no_violations(page, url)


def test_login_window_with_the_code_block(page, make_user, db_env):
    login, _, _ = make_user()
    page.goto("/")
    for _ in range(5):
        submit(page, login, "Неверный пароль 1")
    expect(page.get_by_label("Код авторизации")).to_be_visible()
    expect(page.locator("#captcha-img")).to_be_visible()
    no_violations(page, "/ with the code block")


def test_change_password_in_the_restricted_session(page, mailbox, make_user):
    login, _, email = make_user()
    request_reset(page, login, email)
    temp = temp_password(mailbox.wait_for(email)[0])
    page.goto("/")
    login_as(page, login, temp)
    expect(page).to_have_url(re.compile(r"/change-password/?$"))
    expect(page.get_by_role("heading", name="Смена пароля")).to_be_visible()
    no_violations(page, "/change-password")


def test_cabinet_pages_logged_in(page, make_user, fresh_billing):  # noqa: F811
    open_tab(page, make_user, "org-romashka", ("ctr-1001", "ctr-1002"), "Договоры")
    page.wait_for_load_state("networkidle")
    reports = violations(page, "/contracts")
    for tab in ("Точки учёта", "Показания", "Документы", "Расчёты", "Профиль"):
        page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_role("link", name=tab, exact=True).click()
        expect(page.get_by_role("heading", name=tab, exact=True)).to_be_visible()
        page.wait_for_load_state("networkidle")
        reports += violations(page, tab)
    assert not reports, "\n".join(reports)
