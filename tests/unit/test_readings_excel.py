"""«Показания» from an Excel file (lkk_app/billing/readings/excel.py): the template
made from a real form and read back, the files refused with their codes, numbers
typed as numbers or as text, and ``service.check_file`` — the rows of a file
through the same rules as the form (on the demo billing's world)."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import Session

from lkk_app.billing import sync
from lkk_app.billing.adapters.demo import update_contract
from lkk_app.billing.readings import excel, service
from lkk_app.billing.readings.excel import FileRefused, FileRow
from lkk_app.core.errors import Code
from lkk_app.models import User
from tests.fixtures.billing_world import NORMAL, NOW, OFFICE_DAY, OFFICE_NIGHT, STORE_DAY, STORE_NIGHT, TODAY, DemoWorld

pytestmark = pytest.mark.asyncio
WORKSHOP, BOILER = "pu-1002-1-total", "pu-1002-2-total"  # «Цех»; «Котельная», read remotely


@pytest.fixture
def world(demo_world: DemoWorld):
    """The demo billing of 07.12.2026 copied, and ann bound to «Ромашка»'s Д-1001 and Д-1002."""
    return demo_world.gateway, demo_world.user("ann", "org-romashka", ("ctr-1001", "ctr-1002"))


def _form(engine, user: User, contract: str = "ctr-1001") -> service.ReadingsForm:
    with Session(engine) as db:
        return service.load_form(db, user.id, contract, today=TODAY)


def _xlsx(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(rows: list[list[object]], header_at: int | None = 3) -> bytes:
    """A workbook like the template: the ``register`` header on row ``header_at``, then ``rows``."""
    book = Workbook()
    sheet = book.active
    for _ in range((header_at or 1) - 1):
        sheet.append([None, "текст"])
    if header_at is not None:
        sheet.append([excel.KEY_HEADER, *(f"col{n}" for n in range(8))])
    for row in rows:
        sheet.append(row)
    return _xlsx(book)


def _row(key: object, value: object = None, comment: object = None) -> list[object]:
    """A data row: the key in A, the value in H, the comment in I."""
    return [key, "Точка", "адрес", "123", "день", 1.0, "01.11.2026", value, comment]


def _refused(data: bytes) -> Code:
    with pytest.raises(FileRefused) as caught:
        excel.read(data)
    return caught.value.code


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


# --------------------------------------------------------------------------- the template, both ways


async def test_the_template_lists_each_register_with_its_key_and_previous_value(world, engine):
    _, ann = world
    data = excel.template(_form(engine, ann))
    assert data.startswith(b"PK\x03\x04")
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.title == "Показания"
    assert sheet["B1"].value == "Показания приборов учёта по договору Д-1001 за ноябрь 2026"
    assert "01.12.2026" in sheet["B2"].value
    assert [c.value for c in sheet[3]] == [
        "register", "Точка учёта", "Адрес", "Заводской номер ПУ", "Зона", "Предыдущее показание",
        "Дата предыдущего", "Новое показание", "Комментарий"]
    assert sheet.column_dimensions["A"].hidden is True
    assert sheet.max_row == 7
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    assert [r[0] for r in rows] == [OFFICE_DAY, OFFICE_NIGHT, STORE_DAY, STORE_NIGHT]
    assert [(r[1], r[3], r[4]) for r in rows] == [
        ("Офис", "45678901", "день"), ("Офис", "45678901", "ночь"),
        ("Склад", "41234567", "день"), ("Склад", "41234567", "ночь")]
    assert rows[0][2] == "г. Москва, ул. Демонстрационная, д. 1, офис 12"
    # The previous values (the new meter's initial ones, billing's for «Склад») and their dates.
    assert [(r[5], r[6]) for r in rows] == [(0.12, "14.11.2026"), (0.05, "14.11.2026"),
                                            (999850.0, "01.11.2026"), (412345.6, "01.11.2026")]
    assert [(r[7], r[8]) for r in rows] == [(None, None)] * 4  # nothing given yet
    # Only the value and comment cells are open for typing; the value is typed as text.
    assert sheet["H4"].protection.locked is False and sheet["I4"].protection.locked is False
    assert sheet["B4"].protection.locked is True
    assert sheet["H4"].number_format == "@" and sheet["F4"].number_format == "0.00"


async def test_a_filled_template_reads_back_as_rows_with_their_numbers(world, engine):
    _, ann = world
    book = load_workbook(io.BytesIO(excel.template(_form(engine, ann))))
    sheet = book.worksheets[0]
    sheet["H4"] = "1 500,12"  # text, as the template's cell format makes it
    sheet["I4"] = "  Замена прибора  "
    sheet["H5"] = 700.05  # a number after all
    sheet["H6"] = None  # left blank
    sheet["H7"] = 412420
    sheet["I7"] = "ночь"
    rows = excel.read(_xlsx(book))
    assert rows == [
        FileRow(4, OFFICE_DAY, "1 500,12", "Замена прибора"),
        FileRow(5, OFFICE_NIGHT, "700.05", ""),
        FileRow(6, STORE_DAY, "", ""),
        FileRow(7, STORE_NIGHT, "412420", "ночь"),
    ]


async def test_values_given_this_month_are_in_the_template(world, engine):
    import secrets

    _, ann = world
    with Session(engine) as db:
        service.submit(db, user_id=ann.id, user_login="ann", contract_key="ctr-1001", typed=NORMAL,
                       comments={STORE_NIGHT: "проверено"}, idempotency_key=secrets.token_urlsafe(16),
                       today=TODAY, now=NOW)
        db.commit()
    sheet = load_workbook(io.BytesIO(excel.template(_form(engine, ann)))).worksheets[0]
    given = [(row[7].value, row[8].value) for row in sheet.iter_rows(min_row=4)]
    assert given == [(1500.12, None), (700.05, None), (999990.0, None), (412420.0, "проверено")]
    # Read back, they are the same values again.
    assert [(r.register_key, r.value) for r in excel.read(excel.template(_form(engine, ann)))] == [
        (OFFICE_DAY, "1500.12"), (OFFICE_NIGHT, "700.05"), (STORE_DAY, "999990"), (STORE_NIGHT, "412420")]


async def test_the_template_of_a_contract_leaves_out_remote_points_and_a_closed_window_names_the_next(
        world, engine):
    _, ann = world
    form = _form(engine, ann, "ctr-1002")  # window 25-2: closed on 07.12
    assert form.window is None
    sheet = load_workbook(io.BytesIO(excel.template(form))).worksheets[0]
    assert sheet["B1"].value == "Показания приборов учёта по договору Д-1002 за декабрь 2026"
    assert "25.12.2026" in sheet["B2"].value
    assert [row[0].value for row in sheet.iter_rows(min_row=4)] == [WORKSHOP]


# --------------------------------------------------------------------------- files refused


async def test_a_file_that_is_not_a_zip_is_not_an_xlsx():
    assert _refused(b"") == Code("excel.not_xlsx")
    assert _refused(b"register;pu-1001-2-day;12345\n") == Code("excel.not_xlsx")
    assert _refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512) == Code("excel.not_xlsx")  # an old .xls
    # The zip signature, then rubbish.
    assert _refused(b"PK\x03\x04" + b"\x00" * 100) == Code("excel.not_xlsx")


async def test_a_zip_that_is_not_a_workbook_is_not_an_xlsx():
    assert _refused(_zip({"readme.txt": b"hello"})) == Code("excel.not_xlsx")
    assert _refused(_zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<not-closed"})) == Code(
        "excel.not_xlsx")


async def test_a_file_over_the_limit_is_too_big_before_anything_is_unpacked():
    assert excel.MAX_FILE == 2 * 1024 * 1024
    data = b"PK\x03\x04" + b"\x00" * excel.MAX_FILE
    code = _refused(data)
    assert code.key == "excel.too_big" and code == Code("excel.too_big", max=2)


async def test_a_zip_bomb_is_too_packed():
    bomb = _zip({"xl/sharedStrings.xml": b"\0" * (excel.MAX_UNPACKED + 1)})
    assert len(bomb) < excel.MAX_FILE // 10  # small on the wire …
    assert _refused(bomb) == Code("excel.too_packed")  # … but it unpacks to over 40 MiB
    # Several members add up.
    half = b"\0" * (excel.MAX_UNPACKED // 2 + 1)
    assert _refused(_zip({"a.xml": half, "b.xml": half})).key == "excel.too_packed"


async def test_a_workbook_without_the_key_column_is_not_a_template():
    assert _refused(_sheet([_row("pu-1001-2-day", "1")], header_at=None)) == Code("excel.not_template")
    # The heading must be in the first column …
    book = Workbook()
    book.active.append(["Точка учёта", "register"])
    book.active.append(["pu-1001-2-day", "1"])
    assert _refused(_xlsx(book)) == Code("excel.not_template")
    # … and within the first 20 rows.
    assert _refused(_sheet([_row("pu-1001-2-day", "1")], header_at=22)) == Code("excel.not_template")
    assert excel.read(_sheet([_row("pu-1001-2-day", "1")], header_at=20)) == [
        FileRow(21, "pu-1001-2-day", "1", "")]
    # An empty workbook.
    assert _refused(_xlsx(Workbook())) == Code("excel.not_template")


async def test_a_template_with_only_its_heading_has_no_rows():
    assert excel.read(_sheet([])) == []


async def test_more_rows_than_the_limit_are_refused(monkeypatch):
    monkeypatch.setattr(excel, "MAX_ROWS", 3)
    three = [_row(f"r-{n}", str(n)) for n in range(3)]
    assert [r.register_key for r in excel.read(_sheet(three))] == ["r-0", "r-1", "r-2"]
    # Rows without a key do not count.
    assert len(excel.read(_sheet([*three, _row(None, "9"), _row("", "9")]))) == 3
    assert _refused(_sheet([*three, _row("r-3", "3")])) == Code("excel.too_many_rows", max=3)


# --------------------------------------------------------------------------- what the cells hold


async def test_numbers_typed_as_numbers_and_as_text():
    rows = excel.read(_sheet([
        _row("a", 412420.5),
        _row("b", "1 500,12"),
        _row("c", 412420),
        _row("d", 1500.12),  # a float's shortest text, not its binary expansion 1500.119999…
        _row("e", 1e16),
        _row("f", "  12,5  "),
        _row("g", 999990.0),
        _row("h", "x" * 100, "к" * 600),
        _row("i", True),  # a TRUE cell is not a reading (a bool is an int to Python)
    ]))
    assert [(r.number, r.register_key, r.value) for r in rows] == [
        (4, "a", "412420.5"), (5, "b", "1 500,12"), (6, "c", "412420"), (7, "d", "1500.12"),
        (8, "e", "10000000000000000"), (9, "f", "12,5"), (10, "g", "999990"), (11, "h", "x" * 64),
        (12, "i", "TRUE")]
    assert rows[-2].comment == "к" * 500  # comments are cut at 500 characters


async def test_keys_are_trimmed_and_cut_and_blank_rows_are_skipped():
    rows = excel.read(_sheet([_row("  pu-1001-2-day  ", "1"), [None], [], _row("k" * 60, "2"),
                              _row(12345, "3")]))
    assert [(r.number, r.register_key) for r in rows] == [(4, "pu-1001-2-day"), (7, "k" * 40), (8, "12345")]


# --------------------------------------------------------------------------- service.check_file


def _rows(values: dict[str, str], comments: dict[str, str] | None = None, start: int = 4) -> list[FileRow]:
    return [FileRow(n, key, value, (comments or {}).get(key, ""))
            for n, (key, value) in enumerate(values.items(), start=start)]


async def test_a_good_file_checks_ok_with_its_values_and_comments(world, engine):
    _, ann = world
    form = _form(engine, ann)
    checked = service.check_file(form, _rows(NORMAL, {STORE_NIGHT: "с" * 600}))
    assert checked.ok
    assert checked.typed == NORMAL and checked.row_errors == {} and checked.errors == {}
    assert checked.comments == {STORE_NIGHT: "с" * 500}
    assert [c.key for c in checked.checks] == ["pu-1001-1b", "pu-1001-2"]


async def test_a_filled_template_passes_the_check(world, engine):
    _, ann = world
    form = _form(engine, ann)
    book = load_workbook(io.BytesIO(excel.template(form)))
    sheet = book.worksheets[0]
    sheet["H4"], sheet["H5"], sheet["H6"], sheet["H7"] = "1 500,12", 700.05, 999990, "412 420"
    checked = service.check_file(form, excel.read(_xlsx(book)))
    assert checked.ok
    assert checked.typed == {OFFICE_DAY: "1 500,12", OFFICE_NIGHT: "700.05", STORE_DAY: "999990",
                             STORE_NIGHT: "412 420"}
    store = next(c for c in checked.checks if c.key == "pu-1001-2")
    assert [r.value for r in store.registers] == [service.Decimal("999990.00"), service.Decimal("412420.00")]


async def test_blank_values_are_not_errors(world, engine):
    _, ann = world
    form = _form(engine, ann)
    rows = _rows({OFFICE_DAY: "1 500,12", OFFICE_NIGHT: "700,05", STORE_DAY: "", STORE_NIGHT: ""})
    checked = service.check_file(form, rows)
    assert checked.ok and checked.row_errors == {} and checked.errors == {}
    assert [c.key for c in checked.checks] == ["pu-1001-1b"]  # «Склад» is not given
    # Nothing at all given: no bad row, only that nothing is given.
    checked = service.check_file(form, _rows(dict.fromkeys(NORMAL, "")))
    assert checked.row_errors == {} and checked.errors == {"": Code("readings.nothing_given")}
    assert not checked.ok


async def test_a_register_given_twice_is_an_error_of_the_second_row(world, engine):
    _, ann = world
    rows = [*_rows(NORMAL), FileRow(8, OFFICE_DAY, "1 600", "")]
    checked = service.check_file(_form(engine, ann), rows)
    assert checked.row_errors == {8: Code("excel.duplicate_row")}
    assert checked.typed[OFFICE_DAY] == "1 500,12"  # the first one stands
    assert not checked.ok and checked.errors == {}


async def test_a_row_of_another_contract_or_made_up_is_unknown(world, engine):
    _, ann = world
    rows = [*_rows(NORMAL), FileRow(8, "pu-2001-1-total", "1", ""), FileRow(9, "no-such-register", "", "")]
    checked = service.check_file(_form(engine, ann), rows)
    assert checked.row_errors == {8: Code("excel.unknown_row"), 9: Code("excel.unknown_row")}
    assert "pu-2001-1-total" not in checked.typed and not checked.ok


async def test_a_remote_point_takes_no_value_from_a_file(world, engine):
    gateway, ann = world
    with Session(engine) as db:
        update_contract(db, "ctr-1002", window_first=1, window_last=31)
        db.commit()
    assert (await sync.sync_all(engine, gateway)).ok
    form = _form(engine, ann, "ctr-1002")
    assert form.window is not None and [s.point.name for s in form.remote] == ["Котельная"]
    checked = service.check_file(form, [FileRow(4, WORKSHOP, "2500", ""), FileRow(5, BOILER, "2000", "")])
    assert checked.row_errors == {5: Code("reading.remote")}
    assert checked.typed == {WORKSHOP: "2500"} and not checked.ok
    # A blank row of it is no error.
    checked = service.check_file(form, [FileRow(4, WORKSHOP, "2500", ""), FileRow(5, BOILER, "", "")])
    assert checked.row_errors == {} and checked.ok


async def test_a_remote_register_in_a_file_of_a_closed_month(world, engine):
    _, ann = world
    form = _form(engine, ann, "ctr-1002")  # window 25-2, closed today
    checked = service.check_file(form, [FileRow(4, WORKSHOP, "2500", ""), FileRow(5, BOILER, "2000", "")])
    assert checked.row_errors == {5: Code("reading.remote")}
    assert checked.errors == {"": Code("readings.closed", opens=date(2026, 12, 25))}


async def test_bad_values_are_errors_of_their_registers(world, engine):
    _, ann = world
    rows = _rows({**NORMAL, OFFICE_DAY: "12a", STORE_DAY: "1234567"})
    checked = service.check_file(_form(engine, ann), rows)
    assert checked.row_errors == {}
    assert checked.errors[OFFICE_DAY] == Code("reading.format")
    assert checked.errors[STORE_DAY].key == "reading.capacity"
    assert set(checked.errors) == {OFFICE_DAY, STORE_DAY} and not checked.ok
    # One zone of a meter given without the other.
    checked = service.check_file(_form(engine, ann), _rows({**NORMAL, OFFICE_NIGHT: ""}))
    assert checked.errors == {OFFICE_NIGHT: Code("reading.registers")}
