"""«Точки учёта» and «Показания» in Chromium against the production build:
a normal reading accepted by the demo billing with its receipt from the real
SMTP server, a rollover confirmed, a reverse reading refused without a
comment, the closed window, the Excel template with one bad row, and the
points tab with its card — at 1280 and 375 px."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot, text_of
from tests.browser.test_login import login_as


@pytest.fixture
def fresh_billing(db_env):
    """The demo billing as seeded for today, the copy of its readings pulled
    afresh, and no readings given in the cabinet yet."""
    import sqlalchemy as sa

    from lkk_app.billing import deliveries, store
    from lkk_app.billing.adapters.demo import reset
    from lkk_app.billing.binding_tables import ContractBinding, Membership
    from lkk_app.billing.readings import tables
    from lkk_app.core import clock
    from lkk_app.db import session_scope

    with session_scope() as db:
        db.execute(sa.delete(tables.ReadingValue))
        db.execute(sa.delete(tables.ReadingSubmission))
        db.execute(sa.delete(deliveries.BillingDelivery).where(deliveries.BillingDelivery.kind == deliveries.READINGS))
        db.execute(sa.delete(store.BillingReadingCopy))
        db.execute(sa.update(store.BillingSyncState).values(cursor=None))
        reset(db, clock.utcnow().date())
        bound_before = set(db.execute(sa.select(ContractBinding.contract_key)).scalars())
        last_member = db.execute(sa.select(sa.func.max(Membership.id))).scalar() or 0
    _sync_copy()
    yield
    # What this test bound or joined is undone: the other modules bind the demo contracts themselves.
    with session_scope() as db:
        db.execute(sa.delete(ContractBinding).where(ContractBinding.contract_key.not_in(bound_before)))
        db.execute(sa.delete(Membership).where(Membership.id > last_member))


def _sync_copy() -> None:
    """A sync pass of the copy from this process (in a thread of its own: Playwright
    runs an event loop in this one)."""
    from lkk_app.billing import sync
    from lkk_app.billing.adapters.demo import DemoBilling
    from lkk_app.db import get_engine

    engine = get_engine()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        result = pool.submit(asyncio.run, sync.sync_all(engine, DemoBilling(engine, supplier="x"))).result()
    assert result.ok, result.error


def _administrator(login: str, organisation: str, contracts: tuple[str, ...]) -> None:
    """The user administers the organisation, whose ``contracts`` are bound."""
    from sqlmodel import select

    from lkk_app.billing.binding_tables import ADMINISTRATOR, ContractBinding, Membership
    from lkk_app.core import clock
    from lkk_app.db import dialect_insert, session_scope, table_of
    from lkk_app.models import User

    with session_scope() as db:
        user = db.exec(select(User).where(User.login == login)).one()
        now = clock.utcnow()
        db.execute(dialect_insert(db, table_of(Membership)).values(
            user_id=user.id, organisation_key=organisation, role=ADMINISTRATOR, created_at=now)
            .on_conflict_do_nothing())
        for key in contracts:
            db.execute(dialect_insert(db, table_of(ContractBinding)).values(
                contract_key=key, organisation_key=organisation, bound_by=user.id, bound_at=now)
                .on_conflict_do_nothing())


def open_tab(page, make_user, organisation: str, contracts: tuple[str, ...], tab: str) -> str:
    """A new user administering ``organisation`` with ``contracts`` bound, logged
    in, on the cabinet's ``tab``; their e-mail.  The page's console errors are
    kept for :func:`_no_errors`."""
    login, password, email = make_user()
    _administrator(login, organisation, contracts)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/")
    login_as(page, login, password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    page.get_by_role("link", name=tab, exact=True).click()
    expect(page.get_by_role("heading", name=tab, exact=True)).to_be_visible()
    page.errors = errors  # checked at the end of each test: no script refused, no failure
    return email


def _open_readings(page, make_user, organisation: str, contracts: tuple[str, ...]) -> str:
    email = open_tab(page, make_user, organisation, contracts, "Показания")
    expect(page.get_by_test_id("window-line")).to_be_visible()
    return email


def _value_input(page, point: str, zone: str):
    group = page.get_by_test_id("meter-group").filter(has_text=point)
    return group.get_by_label(f"Новое показание, зона {zone}")


def _choose(page, number: str) -> None:
    page.get_by_label("Договор", exact=True).select_option(label=number)
    expect(page.get_by_role("heading", name=re.compile(f"по договору {number}"))).to_be_visible()


def _no_errors(page) -> None:
    assert [e for e in page.errors if "Content Security Policy" in e or "Uncaught" in e] == []


def _receipt(mailbox, address: str):
    """The receipt of readings to ``address`` (its subject says they were given)."""
    deadline = time.monotonic() + 30
    while not (found := [m for m in mailbox.to(address) if "переданы" in str(m["Subject"])]):
        assert time.monotonic() < deadline, [str(m["Subject"]) for m in mailbox.to(address)]
        time.sleep(0.2)
    return found[-1]


def _accepted_soon(page, count: int) -> None:
    """Billing answers within seconds: reload until the statuses say so."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page.reload()
        expect(page.get_by_test_id("window-line")).to_be_visible()
        if page.get_by_text("Принято", exact=True).count() >= count:
            return
        time.sleep(1)
    raise AssertionError("billing did not accept the readings")


def test_a_normal_reading_is_accepted_and_receipted(page, make_user, mailbox, fresh_billing):
    email = _open_readings(page, make_user, "org-petrov", ("ctr-3001",))
    # The administrator gives the organisation's address for receipts on «Договоры».
    page.get_by_role("link", name="Договоры").click()
    address = page.get_by_label(re.compile("Адрес электронной почты для уведомлений"))
    address.fill("не адрес")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator("#notice-error")).not_to_be_empty()
    address.fill("buh@ip-petrov.example")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_test_id("notice-saved")).to_have_text("Адрес для уведомлений организации сохранён.")
    page.get_by_role("link", name="Показания").click()
    expect(page.get_by_test_id("window-line")).to_contain_text(re.compile(r"Приём показаний за [а-я]+ \d{4}: с"))
    field = _value_input(page, "Магазин", "сутки")
    field.fill("15 800,5")
    field.blur()
    row = page.get_by_test_id("register-row").filter(has_text="сутки")
    expect(row.get_by_test_id("formula")).to_contain_text("(15 800,5 − 15 678,9) × 1 = 121,60 кВт·ч")
    page.get_by_role("button", name="Передать показания").click()
    expect(page.get_by_test_id("readings-done")).to_contain_text("Показания переданы в расчётную систему")
    _accepted_soon(page, 1)
    expect(page.get_by_test_id("given-row")).to_contain_text("Принято")
    shot(page, "readings-accepted")
    # The receipt (the background pass may send this administrator other letters too).
    letter = _receipt(mailbox, email)
    body = text_of(letter)
    assert "Д-3001" in letter["Subject"] and "Магазин | 12345678 | сутки | 15\u00a0800,5 | 121,60" in body
    assert text_of(_receipt(mailbox, "buh@ip-petrov.example")) == body  # the organisation's copy
    # The meter's history on «Точки учёта» has it, given in the cabinet.
    page.get_by_role("link", name="Точки учёта").click()
    page.get_by_role("button", name="Открыть точку учёта Магазин").click()
    expect(page.get_by_test_id("history-row").first).to_contain_text("15 800,5")
    expect(page.get_by_test_id("history-row").first).to_contain_text("Принято")
    _no_errors(page)


def test_a_rollover_goes_only_with_its_confirmation(page, make_user, fresh_billing):
    _open_readings(page, make_user, "org-romashka", ("ctr-1001", "ctr-1002"))
    _choose(page, "Д-1001")
    _value_input(page, "Офис", "день").fill("1500,12")
    _value_input(page, "Офис", "ночь").fill("700,05")
    _value_input(page, "Склад", "день").fill("20")
    _value_input(page, "Склад", "ночь").fill("412420")
    page.get_by_role("button", name="Передать показания").click()
    expect(page.get_by_test_id("readings-message")).to_have_text(
        "Проверьте предупреждения ниже и подтвердите каждое отметкой — затем нажмите кнопку ещё раз.")
    warning = page.get_by_test_id("reading-warning")
    expect(warning).to_contain_text("похоже на переход счётчика через ноль")
    expect(warning).to_contain_text("999 850,00 на 01.11.")
    expect(page.get_by_test_id("given-row")).to_have_count(0)  # nothing was sent
    shot(page, "readings-rollover")
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, "readings-rollover-375")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("Подтверждаю: переход через ноль").check()
    page.get_by_role("button", name="Передать показания").click()
    expect(page.get_by_test_id("readings-done")).to_contain_text("значений: 4")
    expect(page.get_by_test_id("replace-note")).to_contain_text(
        "Их можно заменить, пока расчётная система их не приняла")
    _accepted_soon(page, 4)
    expect(page.locator("input.reading-input")).to_have_count(0)  # the month is done
    _no_errors(page)


def test_a_reverse_reading_is_refused_without_a_comment(page, make_user, fresh_billing):
    _open_readings(page, make_user, "org-zarya", ("ctr-2001",))
    field = _value_input(page, "Контора", "сутки")
    field.fill("51000")
    field.blur()
    expect(page.get_by_test_id("reading-warning")).to_contain_text("меньше предыдущего (51 234,5")
    page.get_by_label("Подтверждаю показание меньше предыдущего").check()
    page.get_by_role("button", name="Передать показания").click()
    expect(page.get_by_text("Напишите комментарий: почему показание меньше предыдущего")).to_be_visible()
    expect(page.get_by_test_id("given-row")).to_have_count(0)
    shot(page, "readings-reverse")
    page.get_by_label("Комментарий: почему показание меньше предыдущего").fill(
        "В прошлом месяце передали показание с ошибкой")
    page.get_by_label("Подтверждаю показание меньше предыдущего").check()
    page.get_by_role("button", name="Передать показания").click()
    expect(page.get_by_test_id("readings-done")).to_contain_text("значений: 1")
    _no_errors(page)


def test_outside_the_window_the_form_says_when_it_opens(page, make_user, fresh_billing):
    from lkk_app.billing.adapters.demo import update_contract
    from lkk_app.core.formatting import local_today
    from lkk_app.db import session_scope

    today = local_today()
    day = 10 if today.day > 15 else 20  # a one-day window that is not today
    with session_scope() as db:
        update_contract(db, "ctr-1002", window_first=day, window_last=day)
    _sync_copy()
    _open_readings(page, make_user, "org-romashka", ("ctr-1001", "ctr-1002"))
    _choose(page, "Д-1002")
    expect(page.get_by_test_id("window-line")).to_contain_text(
        re.compile(rf"Приём показаний за [а-я]+ \d{{4}} откроется {day}\.\d\d\.\d{{4}}\."))
    expect(page.locator("input.reading-input")).to_have_count(0)
    expect(page.get_by_role("button", name="Передать показания")).to_have_count(0)
    # The remote-read point is listed with its received value, never asked.
    expect(page.get_by_test_id("remote-row")).to_contain_text("Котельная")
    shot(page, "readings-closed")
    _no_errors(page)


def test_an_excel_file_with_one_bad_row_sends_nothing_until_fixed(page, make_user, fresh_billing, tmp_path):
    _open_readings(page, make_user, "org-romashka", ("ctr-1001", "ctr-1002"))
    _choose(page, "Д-1001")
    with page.expect_download() as download:
        page.get_by_role("button", name="Скачать шаблон").click()
    assert re.fullmatch(r"Показания Д-1001 за \w+ \d{4}\.xlsx", download.value.suggested_filename)
    path = tmp_path / "template.xlsx"
    download.value.save_as(path)
    book = openpyxl.load_workbook(path)
    sheet = book.active
    values = {"pu-1001-1b-day": "1500,12", "pu-1001-1b-night": "700,05", "pu-1001-2-day": "999900",
              "pu-1001-2-night": "41242O"}  # a letter O for a zero
    for row in sheet.iter_rows(min_row=4):
        if row[0].value in values:
            row[7].value = values[row[0].value]
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    page.locator("#readings-file input[type=file]").set_input_files(str(bad))
    expect(page.get_by_test_id("import-message")).to_have_text(
        "В файле есть ошибки (строк: 1) — ничего не передано. Исправьте файл и загрузите его снова.")
    bad_row = page.get_by_test_id("import-row").filter(has_text="41242O")
    expect(bad_row).to_contain_text("Введите число")
    expect(page.get_by_role("button", name="Передать показания из файла")).to_have_count(0)
    shot(page, "readings-file-report")
    for row in sheet.iter_rows(min_row=4):
        if row[0].value == "pu-1001-2-night":
            row[7].value = "412420"
    good = tmp_path / "good.xlsx"
    book.save(good)
    page.locator("#readings-file input[type=file]").set_input_files(str(good))
    expect(page.get_by_test_id("import-message")).to_contain_text("Файл проверен: значений к передаче — 4")
    page.get_by_role("button", name="Передать показания из файла").click()
    expect(page.get_by_test_id("readings-done")).to_contain_text("значений: 4")
    expect(page.get_by_test_id("given-row")).to_contain_text("личный кабинет, файл")
    # Not a workbook at all.
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"just text")
    page.locator("#readings-file input[type=file]").set_input_files(str(junk))
    expect(page.get_by_test_id("import-message")).to_contain_text("это не файл Excel (.xlsx)")
    _no_errors(page)


def test_the_points_tab_finds_a_meter_and_shows_its_card(page, make_user, fresh_billing):
    _open_readings(page, make_user, "org-romashka", ("ctr-1001", "ctr-1002"))
    page.get_by_role("link", name="Точки учёта").click()
    _choose(page, "Д-1001")
    expect(page.get_by_test_id("point-row")).to_have_count(2)
    page.get_by_label("Поиск точки учёта").fill("30112233")  # the meter taken off «Офис» last month
    page.get_by_role("button", name="Найти").click()
    expect(page.get_by_test_id("point-row")).to_have_count(1)
    expect(page.get_by_test_id("point-row")).to_contain_text("Офис")
    page.get_by_label("Поиск точки учёта").fill("")
    page.get_by_role("button", name="Найти").click()
    expect(page.get_by_test_id("point-row")).to_have_count(2)
    expect(page.get_by_test_id("point-row").filter(has_text="Склад")).to_contain_text("поверка скоро")
    shot(page, "points-list")
    page.get_by_role("button", name="Открыть точку учёта Склад").click()
    expect(page.get_by_test_id("card-coefficient")).to_have_text("40 (ТТ 200/5)")
    expect(page.get_by_test_id("card-capacity")).to_have_text("6.2 (до 999 999,99)")
    expect(page.get_by_test_id("transformer-row")).to_have_count(3)
    expect(page.get_by_test_id("history-row")).to_have_count(24)
    page.get_by_role("button", name=re.compile("Показать всю историю")).click()
    expect(page.get_by_test_id("history-row")).to_have_count(48)
    shot(page, "points-card")
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, "points-card-375")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Закрыть").click()
    page.get_by_role("button", name="Открыть точку учёта Офис").click()
    expect(page.get_by_test_id("installation-row")).to_have_count(2)
    expect(page.get_by_test_id("installation-row").first).to_contain_text("установлен сейчас")
    _no_errors(page)
