"""«Документы» and «Расчёты» in Chromium against the production build: a
счёт-фактура filtered by its month and downloaded as a PDF with its Russian
name, several as one .zip, an act of reconciliation asked for and followed from
«готовится» to issued, with its letter; the balance and the payment plan with
the overdue payment on a 375 px screen, the purpose line copied, the
consumption chart and its table; the letters chosen in «Профиль»."""

from __future__ import annotations

import io
import re
import time
import zipfile

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot, text_of
from tests.browser.test_login import login_as
from tests.browser.test_readings import _no_errors, fresh_billing, open_tab  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_billing")


def _closed_month():
    """The month two months back: its readings are all in, its documents issued."""
    from lkk_app.billing.readings.rules import month_start
    from lkk_app.core.formatting import local_today

    return month_start(local_today(), -2)


def test_a_vat_invoice_filtered_by_its_month_downloads_as_a_pdf(page, make_user):
    from lkk_app.core.formatting import month_text

    month = _closed_month()
    open_tab(page, make_user, "org-romashka", ("ctr-1001", "ctr-1002"), "Документы")
    page.get_by_label("Договор", exact=True).select_option(label="Д-1001")
    expect(page.get_by_role("heading", name=re.compile("Документы по договору Д-1001"))).to_be_visible()
    page.get_by_label("Вид документа").select_option(label="Счёт-фактура")
    page.get_by_label("Начало периода", exact=True).select_option(label=month_text(month))
    page.get_by_label("Конец периода", exact=True).select_option(label=month_text(month))
    page.get_by_role("button", name="Показать").click()
    rows = page.get_by_test_id("document-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(month_text(month))
    expect(rows.first).to_contain_text("выставлен")
    number = f"СФ {month:%y%m}-1001"
    expect(rows.first).to_contain_text(number)
    shot(page, "documents-filtered")
    with page.expect_download() as download:
        rows.first.get_by_role("link", name=re.compile("Скачать Счёт-фактура")).click()
    assert re.fullmatch(rf"Счёт-фактура № {number} от \d\d\.\d\d\.\d{{4}}\.pdf", download.value.suggested_filename)
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    # A wrong period is said at the field.
    page.get_by_label("Начало периода", exact=True).select_option(index=1)
    page.get_by_label("Конец периода", exact=True).select_option(index=3)
    page.get_by_role("button", name="Показать").click()
    expect(page.locator("#doc-month-to-error")).to_have_text("Конец периода раньше его начала.")
    _no_errors(page)


def test_several_documents_download_as_one_zip(page, make_user):
    from lkk_app.core.formatting import month_text

    month = _closed_month()
    open_tab(page, make_user, "org-zarya", ("ctr-2001",), "Документы")
    page.get_by_label("Начало периода", exact=True).select_option(label=month_text(month))
    page.get_by_label("Конец периода", exact=True).select_option(label=month_text(month))
    page.get_by_role("button", name="Показать").click()
    rows = page.get_by_test_id("document-row")
    expect(rows.first).to_be_visible()
    expect(rows.filter(has_not_text=month_text(month))).to_have_count(0)  # the filter is applied
    count = rows.count()
    assert count >= 3
    page.get_by_role("button", name="Выбрать все на странице").click()
    expect(page.get_by_test_id("selected-count")).to_contain_text(str(count))
    with page.expect_download() as download:
        page.get_by_test_id("download-zip").click()
    assert download.value.suggested_filename == f"Документы ({count}).zip"
    with open(download.value.path(), "rb") as raw:
        names = zipfile.ZipFile(io.BytesIO(raw.read())).namelist()
    assert len(names) == count and all(n.endswith(".pdf") for n in names)
    _no_errors(page)


def test_an_act_of_reconciliation_is_asked_for_and_arrives(page, make_user, mailbox):
    email = open_tab(page, make_user, "org-petrov", ("ctr-3001",), "Документы")
    page.get_by_role("button", name="Запросить акт сверки").click()
    expect(page.get_by_test_id("act-message")).to_contain_text("Запрос отправлен")
    # «готовится» first (the request, then billing's document) …
    waiting = page.locator("[data-testid=act-request], [data-testid=document-row]").filter(has_text="готовится")
    expect(waiting.first).to_be_visible()
    shot(page, "documents-act-preparing")
    # … then issued, in the list, within the minute the tab follows it.
    act = page.get_by_test_id("document-row").filter(has_text="Акт сверки взаиморасчётов")
    expect(act.filter(has_text="выставлен")).to_have_count(1, timeout=60_000)
    expect(page.get_by_test_id("act-message")).to_have_text("Акт сверки готов: его можно скачать в списке документов.")
    with page.expect_download() as download:
        act.get_by_role("link", name=re.compile("Скачать")).click()
    assert download.value.suggested_filename.startswith("Акт сверки взаиморасчётов № АС ")
    letter = _letter(mailbox, email, "Акт сверки")
    assert "Д-3001" in letter["Subject"] and "/documents" in text_of(letter)
    _no_errors(page)


def _letter(mailbox, email: str, subject: str):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [m for m in mailbox.to(email) if subject in str(m["Subject"])]
        if found:
            return found[-1]
        time.sleep(0.5)
    raise AssertionError(f"no letter «{subject}» to {email}")


def test_the_payment_plan_shows_the_overdue_payment_on_a_phone(page, make_user, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_tab(page, make_user, "org-romashka", ("ctr-1001", "ctr-1002"), "Расчёты")
    page.get_by_label("Договор", exact=True).select_option(label="Д-1002")
    expect(page.get_by_role("heading", name=re.compile("Состояние расчётов по договору Д-1002"))).to_be_visible()
    expect(page.get_by_text("Задолженность", exact=True)).to_be_visible()
    expect(page.get_by_test_id("overdue-amount")).to_contain_text("₽")
    overdue = page.locator("tr.row-overdue")
    expect(overdue.first).to_contain_text("просрочен")
    page.set_viewport_size({"width": 375, "height": 800})
    overdue.first.scroll_into_view_if_needed()
    expect(overdue.first).to_be_visible()
    box = overdue.first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375  # no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "settlements-plan-375")
    page.set_viewport_size({"width": 1280, "height": 900})
    # The purpose line of the next payment, copied with its button.
    purpose = page.get_by_test_id("purpose").inner_text()
    assert purpose.startswith("Оплата за электроэнергию по договору Д-1002 за ")
    page.get_by_role("button", name="Копировать Назначение платежа").click()
    expect(page.locator("#copy-status")).to_have_text("Скопировано в буфер обмена.")
    assert page.evaluate("navigator.clipboard.readText()") == purpose
    _no_errors(page)


def test_the_consumption_chart_and_its_table(page, make_user):
    open_tab(page, make_user, "org-romashka", ("ctr-1001", "ctr-1002"), "Расчёты")
    page.get_by_label("Договор", exact=True).select_option(label="Д-1001")
    chart = page.get_by_test_id("consumption-chart")
    expect(chart).to_have_attribute("role", "img")
    expect(chart.locator(".recharts-bar-rectangle").first).to_be_visible()
    assert chart.locator(".recharts-bar-rectangle").count() >= 40  # two zones, about two years
    expect(chart.locator(".recharts-line")).to_have_count(1)
    shot(page, "settlements-chart")
    page.get_by_test_id("view-toggle").click()
    table = page.get_by_test_id("consumption-table")
    expect(table.get_by_test_id("use-row")).to_have_count(24)
    expect(table.locator("thead")).to_contain_text("день, кВт·ч")
    expect(table.locator("thead")).to_contain_text("Стоимость с НДС, ₽")
    all_points = table.get_by_test_id("use-row").nth(1).inner_text()
    page.get_by_label("Точка учёта").select_option(label="Склад")
    expect(table.locator("thead")).not_to_contain_text("Стоимость с НДС")
    assert table.get_by_test_id("use-row").nth(1).inner_text() != all_points
    page.get_by_test_id("view-toggle").click()
    expect(page.get_by_test_id("consumption-chart")).to_be_visible()
    _no_errors(page)


def test_the_letters_one_wants_are_chosen_in_the_profile(page, make_user):
    login, password, _ = make_user()
    page.goto("/")
    login_as(page, login, password)
    box = page.get_by_label("Появилась задолженность")
    expect(box).to_be_checked()
    box.uncheck()
    expect(page.get_by_text("Настройки уведомлений сохранены.")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Появилась задолженность")).not_to_be_checked()
    expect(page.get_by_label("Выставлены новые документы")).to_be_checked()
