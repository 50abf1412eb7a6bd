"""What «Документы» and «Расчёты» make of the domain's figures for the page:
the months the period fields offer, a document's period in words, the chart's
rows and the table of the same numbers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lkk_app.billing.settlements import MonthUse
from lkk_app.billing.types import Zone
from lkk_app.state.documents import month_options, period_text
from lkk_app.state.settlements import chart_rows, table_rows, zones_of

D = Decimal


def test_the_period_fields_offer_the_months_of_the_contract_newest_first():
    options = month_options(date(2026, 9, 15), date(2026, 12, 7))
    assert [(o.value, o.text) for o in options] == [
        ("2026-12", "декабрь 2026"), ("2026-11", "ноябрь 2026"), ("2026-10", "октябрь 2026"),
        ("2026-09", "сентябрь 2026")]
    assert len(month_options(date(2001, 1, 1), date(2026, 12, 7))) == 61  # five years back at most


def test_a_period_is_a_month_or_two_dates():
    assert period_text(date(2026, 11, 1), date(2026, 11, 30)) == "ноябрь 2026"
    assert period_text(date(2026, 1, 1), date(2026, 11, 30)) == "01.01.2026 – 30.11.2026"
    assert period_text(date(2026, 2, 3), date(2026, 2, 28)) == "03.02.2026 – 28.02.2026"


def test_the_chart_and_its_table_show_the_same_numbers():
    months = (
        MonthUse(date(2026, 9, 1), {"p1": {Zone.DAY: D("100.5"), Zone.NIGHT: D("40")}, "p2": {Zone.DAY: D("10")}},
                 D("1234.56")),
        MonthUse(date(2026, 10, 1), {}, None),
    )
    zones = zones_of(months)
    assert zones == [Zone.NIGHT, Zone.DAY]  # night at the bottom of the stack
    rows = chart_rows(months, None, zones)
    assert rows[0] == {"month": "09.26", "title": "сентябрь 2026", "night": 40.0, "day": 110.5, "amount": 1234.56}
    assert rows[1]["amount"] is None and rows[1]["day"] == 0.0
    only_p1 = chart_rows(months, "p1", zones)[0]
    assert only_p1["day"] == 100.5 and only_p1["amount"] is None  # a point's cost is not billed apart
    table = table_rows(months, None, zones)
    assert [r.month for r in table] == ["октябрь 2026", "сентябрь 2026"]  # newest first
    assert table[1].zones == ["40", "110,5"] and table[1].total == "150,5" and table[1].amount == "1\u00a0234,56"
    assert table[0].zones == ["—", "—"] and table[0].total == "—" and table[0].amount == "—"
