"""«Договоры»: binding a contract with the code from the e-mail of record (read
from the real SMTP server), the uniform «не найден», the «уже подключён» path,
the card and unbinding, and the tab on a phone screen."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.browser.conftest import shot, text_of
from tests.browser.test_login import login_as

NOT_FOUND = "Договор не найден. Проверьте ИНН, КПП и номер договора или обратитесь к куратору"


def _open_contracts(page, make_user):
    login, password, email = make_user()
    page.goto("/")
    login_as(page, login, password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    page.get_by_role("link", name="Договоры").click()
    expect(page.get_by_role("heading", name="Договоры", exact=True)).to_be_visible()
    return login, email


def _find(page, inn: str, kpp: str | None, number: str) -> None:
    page.get_by_test_id("bind-start").click()
    page.get_by_label("ИНН").fill(inn)
    if kpp is not None:
        page.get_by_label("КПП").fill(kpp)
    page.get_by_label("Номер договора").fill(number)
    page.get_by_role("button", name="Найти договор").click()


def _code_from(mailbox, address: str, count: int = 1) -> str:
    letter = mailbox.wait_for(address, count=count)[count - 1]
    return re.search(r"Код подтверждения: (\d{6})", text_of(letter)).group(1)


def test_bind_a_contract_with_the_code_from_the_email_of_record(page, make_user, mailbox):
    _open_contracts(page, make_user)
    expect(page.get_by_test_id("contracts-empty")).to_be_visible()
    shot(page, "contracts-empty")
    _find(page, "7701000001", "770101001", "д-1001")
    expect(page.get_by_test_id("code-message")).to_contain_text("e***@romashka-demo.example")
    shot(page, "contracts-code")
    code = _code_from(mailbox, "energo@romashka-demo.example")
    page.get_by_label("Код подтверждения").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.locator("#code-error")).to_have_text("Код введён неверно. Осталось попыток: 4")
    page.get_by_label("Код подтверждения").fill(code)
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_test_id("bind-done")).to_have_text("Договор Д-1001 привязан к личному кабинету.")
    expect(page.get_by_test_id("contract-row")).to_have_count(1)
    expect(page.get_by_test_id("as-of")).to_contain_text(re.compile(r"Данные на \d\d\.\d\d\.\d{4} \d\d:\d\d"))
    # The organisation's other active contract is offered, checked.
    expect(page.get_by_label(re.compile("Д-1002"))).to_be_checked()
    shot(page, "contracts-bound")
    page.get_by_role("button", name="Подключить отмеченные").click()
    expect(page.get_by_test_id("bind-done")).to_have_text("Подключены договоры: Д-1002.")
    expect(page.get_by_test_id("contract-row")).to_have_count(2)
    page.get_by_role("button", name="Готово").click()
    # The card: all parameters and the curator.
    page.get_by_role("button", name="Открыть договор Д-1002").click()
    expect(page.get_by_test_id("card-number")).to_have_text("Д-1002")
    expect(page.get_by_test_id("card-power")).to_have_text("800 кВт")
    expect(page.get_by_test_id("card-curator")).not_to_be_empty()
    shot(page, "contracts-card")
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, "contracts-card-375")
    page.get_by_role("button", name="Закрыть").click()
    shot(page, "contracts-list-375")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    expect(page.get_by_test_id("contract-row")).to_have_count(2)
    shot(page, "contracts-list")


def test_any_wrong_part_gives_one_message(page, make_user):
    _open_contracts(page, make_user)
    _find(page, "7701000002", "770101001", "Д-1001")  # a bad checksum is a field error
    expect(page.locator("#inn-error")).to_have_text("ИНН введён с ошибкой: не сходится контрольная цифра")
    page.get_by_label("ИНН").fill("7701000001")
    page.get_by_label("КПП").fill("770101002")
    page.get_by_role("button", name="Найти договор").click()
    expect(page.get_by_test_id("bind-message")).to_have_text(NOT_FOUND)
    page.get_by_label("КПП").fill("770101001")
    page.get_by_label("Номер договора").fill("Д-2001")  # another organisation's contract
    page.get_by_role("button", name="Найти договор").click()
    expect(page.get_by_test_id("bind-message")).to_have_text(NOT_FOUND)
    shot(page, "contracts-not-found")


def test_an_organisation_with_an_administrator_asks_them(browser, app_server, page, make_user, mailbox):
    admin_login, admin_email = _open_contracts(page, make_user)
    _find(page, "5003000008", "500301001", "Д-2001")
    page.get_by_label("Код подтверждения").fill(_code_from(mailbox, "buh@zarya-demo.example"))
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_test_id("bind-done")).to_contain_text("Д-2001")

    other_ctx = browser.new_context(base_url=app_server.url, locale="ru-RU")
    other = other_ctx.new_page()
    other_login, _ = _open_contracts(other, make_user)
    _find(other, "5003000008", "500301001", "Д-2001")
    expect(other.get_by_test_id("bind-message")).to_have_text(
        "Договор уже подключён к личному кабинету Вашей организации. "
        "Мы отправили администратору запрос на доступ для Вас")
    # The administrator may get other letters meanwhile (a debt on the bound
    # contract, from the background pass): the request is the one naming the asker.
    deadline = time.monotonic() + 30
    while not (asks := [m for m in mailbox.to(admin_email) if other_login in text_of(m)]):
        assert time.monotonic() < deadline, [str(m["Subject"]) for m in mailbox.to(admin_email)]
        time.sleep(0.2)
    assert "Д-2001" in text_of(asks[0]) and len(asks) == 1
    expect(other.get_by_test_id("contracts-empty")).to_be_visible()  # nothing of theirs is shown
    other_ctx.close()


def test_an_entrepreneur_binds_without_kpp_and_unbinds(page, make_user, mailbox):
    _open_contracts(page, make_user)
    page.get_by_test_id("bind-start").click()
    page.get_by_label("ИНН").fill("771200000003")
    expect(page.get_by_test_id("kpp-not-needed")).to_be_visible()
    page.get_by_label("Номер договора").fill("Д-3001")
    page.get_by_role("button", name="Найти договор").click()
    page.get_by_label("Код подтверждения").fill(_code_from(mailbox, "petrov@ip-demo.example"))
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_test_id("contract-row")).to_have_count(1)
    page.get_by_role("button", name="Готово").click()
    page.get_by_role("button", name="Открыть договор Д-3001").click()
    # The question takes the focus; Escape cancels and gives it back to the button.
    opener = page.get_by_role("button", name="Отвязать договор")
    opener.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Отмена")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#unbind-question")).to_have_count(0)
    expect(opener).to_be_focused()
    page.keyboard.press("Enter")
    shot(page, "contracts-unbind")
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Отвязать", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("contracts-notice")).to_have_text("Договор Д-3001 отвязан от личного кабинета.")
    expect(page.get_by_test_id("contracts-notice")).to_be_focused()
    expect(page.get_by_test_id("contracts-empty")).to_be_visible()
