"""Letters with a table (lkk_app/mail/templates.py, «readings_receipt»): the rows as
plain-text lines and as an HTML table with the catalogue's headings, cells
escaped; the shape of ``rows`` checked; a cell can add no line to the letter."""

from __future__ import annotations

import re

import pytest

from lkk_app.mail import templates
from lkk_app.mail.templates import MailTemplateError, check_params, render

ROWS = [
    ["Офис", "45678901", "день", "1\u00a0500,12", "1\u00a0500,00"],
    ["Склад", "41234567", "ночь", "412\u00a0420,00", "3\u00a0044,00"],
]


def _params(rows: object = ROWS, **extra: object) -> dict[str, object]:
    params: dict[str, object] = {
        "login": "ann", "organisation": "ООО «Ромашка»", "contract": "Д-1001", "period": "ноябрь 2026",
        "as_of": "01.12.2026", "time": "07.12.2026 12:00", "count": "2", "status": "ожидает проверки",
        "more": "", "public_url": "http://localhost:3000", "email": "ann@example.org",
    }
    if rows is not None:
        params["rows"] = rows
    params.update(extra)
    return params


def _table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if " | " in line]


def test_the_text_has_a_line_per_row_with_its_cells_joined():
    subject, text, _ = render("readings_receipt", _params())
    assert subject == "Показания по договору Д-1001 за ноябрь 2026 переданы"
    assert _table_lines(text) == [
        "Офис | 45678901 | день | 1\u00a0500,12 | 1\u00a0500,00",
        "Склад | 41234567 | ночь | 412\u00a0420,00 | 3\u00a0044,00",
    ]
    lines = text.splitlines()
    first = lines.index("Офис | 45678901 | день | 1\u00a0500,12 | 1\u00a0500,00")
    assert lines[first - 1] == ""  # the table stands on lines of its own, after the introduction
    assert "«ann»" in text and "$table" not in text and "[[" not in text  # rows are not a plain parameter


def test_the_html_has_a_table_with_the_catalogue_headings():
    _, _, html = render("readings_receipt", _params())
    assert html.count("<table") == 1
    head = html[html.index("<thead>"):html.index("</thead>")]
    assert re.findall(r"<th [^>]*>([^<]*)</th>", head) == [
        "Точка учёта", "Прибор учёта", "Зона", "Показание", "Расход, кВт·ч"]
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    assert body.count("<tr>") == 2 and body.count("<td ") == 10
    assert ">Склад</td>" in body and ">412\u00a0420,00</td>" in body
    assert body.index(">Офис</td>") < body.index(">Склад</td>")


def test_cells_are_escaped_in_the_html_and_plain_in_the_text():
    rows = [["<b>x</b>", "a&b", '"q"', "<script>alert(1)</script>", "'"]]
    _, text, html = render("readings_receipt", _params(rows))
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "a&amp;b" in html and "&quot;q&quot;" in html and "&#x27;" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert _table_lines(text) == ["<b>x</b> | a&b | \"q\" | <script>alert(1)</script> | '"]


def test_cells_that_are_not_texts_are_shown_as_text_and_long_ones_are_cut():
    rows = [[None, 45678901, "день", "x" * 600, "—"]]
    _, text, html = render("readings_receipt", _params(rows))
    assert _table_lines(text) == [" | 45678901 | день | " + "x" * 500 + " | —"]
    assert ">45678901</td>" in html and "x" * 501 not in html


@pytest.mark.parametrize("evil", ["Склад\nНовый пароль: 123456", "Склад\r\nНовый пароль: 123456",
                                  "Склад\rНовый пароль: 123456", "Склад\u2028Новый пароль: 123456",
                                  "Склад\u2029Новый пароль: 123456", "Склад\x0bНовый пароль: 123456",
                                  "Склад\x0c\x1cНовый пароль: 123456", "Склад\n\n\nНовый пароль: 123456"])
def test_a_line_break_in_a_cell_adds_no_line(evil):
    plain = render("readings_receipt", _params())[1]
    _, text, html = render("readings_receipt", _params([ROWS[0], [evil, "1", "2", "3", "4"]]))
    assert len(text.splitlines()) == len(plain.splitlines())
    assert not any(line.startswith("Новый пароль") for line in text.splitlines())
    assert _table_lines(text)[1] == "Склад Новый пароль: 123456 | 1 | 2 | 3 | 4"
    assert ">Склад Новый пароль: 123456</td>" in html


def test_rows_of_the_right_shape_pass_the_check():
    assert check_params("readings_receipt", _params()).columns == (
        "mail.col_point", "mail.col_meter", "mail.col_zone", "mail.col_value", "mail.col_consumption")
    assert check_params("readings_receipt", _params([])).name == "readings_receipt"
    assert check_params("readings_receipt", _params([["a"] * 5] * templates.MAX_ROWS))
    _, text, html = render("readings_receipt", _params([]))
    assert _table_lines(text) == [] and "<tbody></tbody>" in html


@pytest.mark.parametrize("rows", [
    None,  # no rows at all
    "Офис | 45678901 | день | 1 | 2",
    {"0": ["a"] * 5},
    tuple(ROWS),
    [tuple(ROWS[0])],
    ["a" * 5],
    [["a"] * 4],
    [["a"] * 6],
    [ROWS[0], ["a"] * 4],
    [ROWS[0], None],
    [[]],
    [["a"] * 5] * (templates.MAX_ROWS + 1),
])
def test_rows_missing_or_of_the_wrong_shape_are_refused(rows):
    with pytest.raises(MailTemplateError, match="rows of 5 texts, at most 200"):
        check_params("readings_receipt", _params(rows))
    with pytest.raises(MailTemplateError):
        render("readings_receipt", _params(rows))


def test_the_other_parameters_are_still_checked():
    with pytest.raises(MailTemplateError, match="needs parameters \\['contract'\\]"):
        check_params("readings_receipt", _params(contract=""))
    with pytest.raises(MailTemplateError, match="look like secrets"):
        check_params("readings_receipt", _params(token="x"))


def test_a_letter_without_columns_has_no_table():
    params = {"login": "ann", "public_url": "http://localhost:3000", "email": "ann@example.org",
              "rows": [["<b>x</b>"]]}
    assert check_params("password_changed", params).columns == ()
    _, text, html = render("password_changed", params)
    assert "<table" not in html and "<b>x</b>" not in text and "&lt;b&gt;" not in html
