"""Money rules shared by the cabinet's screens, its documents and the demo
billing: kopecks rounded half up, VAT inside an amount, the payment purpose
line an accountant copies into a payment order."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from lkk_app.core.formatting import month_text, number
from lkk_app.i18n import t

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def vat_inside(amount: Decimal, rate: Decimal) -> Decimal:
    """The VAT in an amount that includes it: 1 220,00 at 22 % → 220,00."""
    return cents(amount * rate / (100 + rate))


def rate_text(rate: Decimal) -> str:
    """«22» for 22.00, «10» for 10; VAT rates are whole percents."""
    return format(rate.normalize(), "f")


def purpose(contract_number: str, period: date, what: str, amount: Decimal, rate: Decimal) -> str:
    """«Оплата за электроэнергию по договору Д-1001 за ноябрь 2026 (окончательный
    расчёт), в т.ч. НДС 22 % 2 200,00 руб.» — at most 210 characters (a payment
    order's purpose field)."""
    text = t("money.purpose", contract=contract_number, month=month_text(period), what=what,
             rate=rate_text(rate), vat=number(vat_inside(amount, rate), 2).replace("\u00a0", " "))
    return text[:210]
