"""The readings form as an Excel file, both ways (openpyxl; defusedxml guards
the XML it reads).

«Скачать шаблон» gives an .xlsx with a row per register of the form — the
point, meter, zone and previous value to read by, an empty cell for the new
value and one for a comment — and a hidden first column with the register's
key.  «Загрузить файл» reads such a file back into ``register key → text``:
nothing else is trusted from it (the names in it are for people), and every
value is then checked by the same rules as the form
(:mod:`lkk_app.billing.readings.service`).

A file that is not an .xlsx, is too big, packs too much, or lacks the key
column is refused with a code; so is a key that appears twice.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lkk_app.core.errors import Code
from lkk_app.core.formatting import date_text, month_text
from lkk_app.i18n import label, t

if TYPE_CHECKING:
    from lkk_app.billing.readings.service import ReadingsForm

MAX_FILE = 2 * 1024 * 1024  # bytes of the .xlsx
MAX_UNPACKED = 40 * 1024 * 1024  # bytes of everything inside it
MAX_ROWS = 10_000
KEY_HEADER = "register"  # the hidden first column's heading
COLUMNS = ("excel.point", "excel.address", "excel.meter", "excel.zone", "excel.previous", "excel.previous_on",
           "excel.new_value", "excel.comment")
VALUE_COLUMN, COMMENT_COLUMN = 8, 9  # 1-based, after the key column
MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class FileRefused(ValueError):
    """The file cannot be read as a readings template (``code`` says why)."""

    def __init__(self, code: Code):
        self.code = code
        super().__init__(code.key)


@dataclasses.dataclass(frozen=True, slots=True)
class FileRow:
    number: int  # the row's number in the sheet, as Excel shows it
    register_key: str
    value: str
    comment: str


def template(form: ReadingsForm) -> bytes:
    """The .xlsx of the form: a row per register of each meter the customer reads."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection

    book = Workbook()
    sheet = book.active
    if sheet is None:  # pragma: no cover - a new workbook has its sheet
        raise RuntimeError("no sheet")
    sheet.title = t("excel.sheet")
    period = month_text(form.window.period if form.window else form.upcoming.period)
    sheet.append([None, t("excel.title", contract=form.contract.number, period=period)])
    sheet.append([None, t("excel.note", as_of=date_text(form.as_of or form.upcoming.opens))])
    sheet.append([KEY_HEADER, *(t(key) for key in COLUMNS)])
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="FFF4D6")
    sheet["B1"].font = Font(bold=True, size=13)
    for cell in sheet[3]:
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    live = form.live
    row = sheet.max_row  # counted here: ``max_row`` looks at every cell, each time
    for slot in form.slots:
        for reg, facts in zip(slot.meter.registers, slot.facts.registers, strict=True):
            given = live.get(reg.key)
            sheet.append([
                reg.key, slot.point.name, slot.point.address, slot.meter.serial, label(reg.zone),
                float(facts.previous) if facts.previous is not None else None, date_text(facts.previous_on),
                float(given.value) if given is not None else None, given.comment if given is not None else None,
            ])
            row += 1
            for column in (VALUE_COLUMN, COMMENT_COLUMN):
                cell = sheet.cell(row=row, column=column)
                cell.fill, cell.protection = fill, Protection(locked=False)
            sheet.cell(row=row, column=6).number_format = "0." + "0" * slot.meter.decimals \
                if slot.meter.decimals else "0"
            sheet.cell(row=row, column=VALUE_COLUMN).number_format = "@"  # typed as text: no rounding
    sheet.column_dimensions["A"].hidden = True
    for letter, width in zip("BCDEFGHI", (18, 40, 14, 10, 16, 14, 18, 40), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "B4"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(value: Any, limit: int = 64) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # TRUE / FALSE is not a reading (a bool is an int to Python)
        return str(value).upper()
    if isinstance(value, float):
        # A number Excel stored: its shortest exact text (1234.5, not 1234.4999…).
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, int | Decimal):
        return format(Decimal(value), "f")
    return str(value).strip()[:limit]


def read(data: bytes) -> list[FileRow]:
    """The rows of an uploaded template; :class:`FileRefused` when it is not one."""
    if len(data) > MAX_FILE:
        raise FileRefused(Code("excel.too_big", max=MAX_FILE // (1024 * 1024)))
    if not data.startswith(b"PK\x03\x04"):
        raise FileRefused(Code("excel.not_xlsx"))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_UNPACKED:
                raise FileRefused(Code("excel.too_packed"))
    except zipfile.BadZipFile:
        raise FileRefused(Code("excel.not_xlsx")) from None
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any parsing failure: not a workbook we can read
        raise FileRefused(Code("excel.not_xlsx")) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise FileRefused(Code("excel.not_template"))
        rows: list[FileRow] = []
        header_seen = False
        for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=COMMENT_COLUMN), start=1):
            cells = list(values) + [None] * (COMMENT_COLUMN - len(values))
            if not header_seen:
                header_seen = _text(cells[0]) == KEY_HEADER
                if number > 20 and not header_seen:
                    break
                continue
            key = _text(cells[0])
            if not key:
                continue
            if len(rows) >= MAX_ROWS:
                raise FileRefused(Code("excel.too_many_rows", max=MAX_ROWS))
            rows.append(FileRow(number, key[:40], _text(cells[VALUE_COLUMN - 1]),
                                _text(cells[COMMENT_COLUMN - 1], 500)))
        if not header_seen:
            raise FileRefused(Code("excel.not_template"))
        return rows
    finally:
        book.close()
