"""Закладка «Расчёты»: balance, the payment plan, the next payment with the bank
details and its purpose line, payments, unidentified payments, and the
consumption chart with its table."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.cabinet import contract_panel_head, contract_tab
from lkk_app.components.layout import cell, data_table, pager, plain_button, status_line
from lkk_app.i18n import t
from lkk_app.state.settlements import (
    PAGE_SIZE,
    PaymentRow,
    PlanRowView,
    Series,
    SettlementsState,
    UseRow,
)

S = SettlementsState


def copy_button(target: str, what: str) -> rx.Component:
    """«Копировать» the text of the element ``target`` (assets/lkk.js); the result
    is said in the live region under the bank details."""
    return rx.el.button(
        rx.icon("copy", size=14, aria_hidden="true"), rx.el.span(t("settlements.copy")),
        type="button", class_name="btn-copy", aria_label=t("settlements.copy") + " " + what,
        custom_attrs={"data-copy": target, "data-status": "copy-status", "data-done": t("settlements.copied"),
                      "data-failed": t("settlements.copy_failed")},
    )


def _balance() -> rx.Component:
    return rx.el.section(
        contract_panel_head(t("settlements.balance_title"), S, "balance-title"),
        rx.el.div(
            rx.el.div(
                rx.match(
                    S.balance_kind,
                    ("debt", rx.el.p(t("settlements.debt"), class_name="figure-label")),
                    ("overpaid", rx.el.p(t("settlements.overpaid"), class_name="figure-label")),
                    ("even", rx.el.p(t("settlements.even"), class_name="figure-label")),
                    rx.el.p(t("settlements.no_balance"), class_name="figure-label"),
                ),
                rx.el.p(S.balance_amount, class_name=rx.cond(S.balance_kind == "debt", "figure figure-bad", "figure"),
                        data_testid="balance-amount"),
                class_name="figure-box",
            ),
            rx.cond(S.overdue != "", rx.el.div(
                rx.el.p(t("settlements.overdue"), class_name="figure-label"),
                rx.el.p(S.overdue, class_name="figure figure-bad", data_testid="overdue-amount"),
                class_name="figure-box"), rx.fragment()),
            rx.cond(S.penalty != "", rx.el.div(
                rx.el.p(t("settlements.penalty"), class_name="figure-label"),
                rx.el.p(S.penalty, class_name="figure", data_testid="penalty-amount"),
                class_name="figure-box"), rx.fragment()),
            rx.cond(S.last_payment != "", rx.el.div(
                rx.el.p(t("settlements.last_payment"), class_name="figure-label"),
                rx.el.p(S.last_payment, class_name="figure figure-small"),
                class_name="figure-box"), rx.fragment()),
            class_name="figures",
        ),
        class_name="panel",
        aria_labelledby="balance-title",
    )


def _plan_row(row: PlanRowView) -> rx.Component:
    return rx.el.tr(
        cell(t("settlements.col_what"), row.what,
             rx.cond(row.overdue, rx.el.span(t("settlements.overdue_badge"), class_name="badge badge-bad"),
                     rx.cond(row.settled, rx.el.span(t("settlements.paid_badge"), class_name="badge badge-ok"),
                             rx.fragment()))),
        cell(t("settlements.col_due"), row.due, class_name="nowrap"),
        cell(t("settlements.col_amount"), row.amount, class_name="nowrap num"),
        cell(t("settlements.col_paid"), row.paid, class_name="nowrap num"),
        cell(t("settlements.col_remaining"), row.remaining, class_name="nowrap num"),
        class_name=rx.cond(row.overdue, "row-overdue", ""),
        data_testid="plan-row",
    )


def _plan() -> rx.Component:
    return rx.el.section(
        rx.el.h2(t("settlements.plan_title"), class_name="panel-title", id="plan-title"),
        rx.el.p(t("settlements.plan_note"), class_name="panel-note"),
        rx.cond(
            S.plan.length() > 0,
            data_table(t("settlements.plan_title"), [t(k) for k in (
                "settlements.col_what", "settlements.col_due", "settlements.col_amount", "settlements.col_paid",
                "settlements.col_remaining")], S.plan, _plan_row, "plan"),
            rx.el.p(t("settlements.plan_empty"), class_name="empty-state"),
        ),
        class_name="panel",
        aria_labelledby="plan-title",
    )


def _requisite(label: str, key: str) -> rx.Component:
    value_id = "bank-" + key.replace("_", "-")
    return rx.el.div(
        rx.el.dt(label),
        rx.el.dd(rx.el.span(S.bank.get(key, ""), id=value_id), copy_button(value_id, label)),
        class_name="profile-row",
    )


def _pay() -> rx.Component:
    return rx.el.section(
        rx.el.h2(t("settlements.pay_title"), class_name="panel-title", id="pay-title"),
        rx.cond(
            S.next_amount != "",
            rx.el.div(
                rx.el.p(t("settlements.next"), " ", rx.el.strong(S.next_amount, data_testid="next-amount"), " ",
                        t("settlements.until"), " ", rx.el.strong(S.next_due),
                        rx.cond(S.next_overdue,
                                rx.el.span(t("settlements.overdue_badge"), class_name="badge badge-bad"),
                                rx.fragment()),
                        class_name="next-line"),
                rx.el.p(t("settlements.purpose"), class_name="field-label"),
                rx.el.div(
                    rx.el.p(S.purpose, id="pay-purpose", class_name="purpose-text", data_testid="purpose"),
                    copy_button("pay-purpose", t("settlements.purpose")),
                    class_name="purpose-box",
                ),
            ),
            rx.el.p(t("settlements.nothing_due"), class_name="panel-note"),
        ),
        rx.el.h3(t("settlements.bank_title"), class_name="subtitle"),
        rx.el.dl(
            _requisite(t("settlements.recipient"), "recipient"),
            _requisite(t("settlements.inn"), "inn"),
            _requisite(t("settlements.kpp"), "kpp"),
            _requisite(t("settlements.bank"), "bank"),
            _requisite(t("settlements.bik"), "bik"),
            _requisite(t("settlements.account"), "account"),
            _requisite(t("settlements.corr_account"), "corr_account"),
            class_name="profile-list bank-list",
        ),
        rx.el.p("", id="copy-status", role="status", aria_live="polite", class_name="copy-status"),
        class_name="panel",
        aria_labelledby="pay-title",
    )


def _payment_row(row: PaymentRow) -> rx.Component:
    return rx.el.tr(
        cell(t("settlements.col_paid_on"), row.paid_on, class_name="nowrap"),
        cell(t("settlements.col_order"), row.number),
        cell(t("settlements.col_amount"), row.amount, class_name="nowrap num"),
        cell(t("settlements.col_purpose"), row.purpose),
        cell(t("settlements.col_allocation"), row.allocation),
        data_testid="payment-row",
    )


def _payments() -> rx.Component:
    headers = [t(k) for k in ("settlements.col_paid_on", "settlements.col_order", "settlements.col_amount",
                              "settlements.col_purpose", "settlements.col_allocation")]
    return rx.el.section(
        rx.el.h2(t("settlements.payments_title"), class_name="panel-title", id="payments-title"),
        rx.cond(
            S.payments_total > 0,
            rx.fragment(
                data_table(t("settlements.payments_title"), headers, S.payments, _payment_row, "payments"),
                pager(S.offset, S.payments_total, PAGE_SIZE, SettlementsState.show_page, t("settlements.shown")),
            ),
            rx.el.p(t("settlements.payments_empty"), class_name="empty-state"),
        ),
        rx.cond(
            S.unidentified.length() > 0,
            rx.fragment(
                rx.el.h3(t("settlements.unidentified_title"), class_name="subtitle", id="unidentified-title"),
                rx.el.p(t("settlements.unidentified_note"), class_name="panel-note"),
                data_table(t("settlements.unidentified_title"), headers, S.unidentified, _payment_row,
                           "unidentified"),
            ),
            rx.fragment(),
        ),
        class_name="panel",
        aria_labelledby="payments-title",
    )


# --------------------------------------------------------------------------- consumption


def _bar(series: Series) -> rx.Component:
    return rx.recharts.bar(data_key=series.key, name=series.name, stack_id="energy", fill=series.colour,
                           y_axis_id="energy", is_animation_active=False)


def _chart() -> rx.Component:
    return rx.el.div(
        rx.recharts.composed_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
            rx.recharts.x_axis(data_key="month", tick_line=False),
            rx.recharts.y_axis(y_axis_id="energy", orientation="left", width=70,
                               label={"value": t("settlements.axis_kwh"), "angle": -90, "position": "insideLeft"}),
            rx.recharts.y_axis(y_axis_id="money", orientation="right", width=80,
                               label={"value": t("settlements.axis_rub"), "angle": 90, "position": "insideRight"}),
            rx.foreach(S.series, _bar),
            rx.recharts.line(data_key="amount", name=t("settlements.amount_series"), y_axis_id="money",
                             stroke="#1f2a37", stroke_width=2, dot=False, is_animation_active=False,
                             connect_nulls=False),
            rx.recharts.graphing_tooltip(),
            rx.recharts.legend(),
            data=S.chart,
            width="100%",
            height="100%",
        ),
        class_name="chart-box",
        role="img",
        aria_label=t("settlements.chart_label"),
        data_testid="consumption-chart",
    )


def _use_row(row: UseRow) -> rx.Component:
    return rx.el.tr(
        rx.el.th(row.month, scope="row"),
        rx.foreach(row.zones, lambda value: rx.el.td(value, class_name="num")),
        rx.el.td(row.total, class_name="num"),
        rx.cond(S.with_amounts, rx.el.td(row.amount, class_name="num"), rx.fragment()),
        data_testid="use-row",
    )


def _use_table() -> rx.Component:
    return rx.el.div(
        rx.el.table(
            rx.el.caption(t("settlements.table_caption")),
            rx.el.thead(rx.el.tr(
                rx.el.th(t("settlements.col_month"), scope="col"),
                rx.foreach(S.zone_names, lambda name: rx.el.th(name, ", ", t("settlements.kwh"), scope="col")),
                rx.el.th(t("settlements.col_total_kwh"), scope="col"),
                rx.cond(S.with_amounts, rx.el.th(t("settlements.col_cost"), scope="col"), rx.fragment()),
            )),
            rx.el.tbody(rx.foreach(S.use_rows, _use_row)),
            class_name="use-table",
        ),
        class_name="table-scroll",
        data_testid="consumption-table",
    )


def _consumption() -> rx.Component:
    return rx.el.section(
        rx.el.div(
            rx.el.h2(t("settlements.use_title"), class_name="panel-title", id="use-title"),
            plain_button(rx.cond(S.as_table, t("settlements.as_chart"), t("settlements.as_table")),
                         on_click=SettlementsState.toggle_view, aria_pressed=rx.cond(S.as_table, "true", "false"),
                         data_testid="view-toggle"),
            class_name="panel-head",
        ),
        rx.el.div(
            rx.el.label(t("settlements.point"), html_for="use-point", class_name="field-label"),
            rx.el.select(rx.foreach(S.point_options, lambda o: rx.el.option(o.text, value=o.value)),
                         id="use-point", value=S.point, on_change=SettlementsState.choose_point,
                         class_name="switch-select"),
            class_name="contract-switch use-point",
        ),
        rx.el.p(t("settlements.use_note"), class_name="panel-note"),
        rx.cond(S.as_table, _use_table(), _chart()),
        class_name="panel",
        aria_labelledby="use-title",
    )


def settlements_page() -> rx.Component:
    return contract_tab(
        routes.SETTLEMENTS, SettlementsState, t("settlements.title"),
        _balance(), _plan(), _pay(), _consumption(), _payments(),
        notice=status_line(S.notice, "settlements-notice", "field-error"),
    )

