"""Закладка «Точки учёта»: the contract's points and meters, a point's card."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.cabinet import contract_panel_head, contract_tab
from lkk_app.components.layout import (
    card_panel,
    cell,
    data_table,
    fact,
    pager,
    plain_button,
    status_line,
)
from lkk_app.i18n import t
from lkk_app.state.points import (
    PAGE_SIZE,
    HistoryItem,
    InstallationRow,
    PointRow,
    PointsState,
    TransformerRow,
)


def check_badge(state: rx.Var) -> rx.Component:
    """«поверка через … » / «поверка просрочена» when the next verification is near or past."""
    return rx.match(
        state,
        ("soon", rx.el.span(t("points.check_soon"), class_name="badge badge-warn")),
        ("expired", rx.el.span(t("points.check_expired"), class_name="badge badge-bad")),
        rx.fragment(),
    )


def _point_row(row: PointRow) -> rx.Component:
    return rx.el.tr(
        cell(t("points.name"),
              rx.el.button(row.name, type="button", class_name="link-button",
                           on_click=PointsState.open_point(row.key), aria_label=t("points.open") + " " + row.name),
              rx.el.span(row.address, class_name="cell-note"),
              rx.el.span(row.kind, " · ", row.voltage, " · ", row.power, class_name="cell-note")),
        cell(t("points.meter"), row.meter, rx.el.span(row.model, class_name="cell-note"),
              rx.el.span(row.zones, class_name="cell-note")),
        cell(t("points.coefficient"), row.coefficient),
        cell(t("points.next_check"), row.next_check, check_badge(row.check_state), class_name="nowrap"),
        cell(t("points.reading"),
              rx.cond(row.remote, rx.el.span(t("points.remote_badge"), class_name="badge badge-info"),
                      t("points.reading_customer_short"))),
        data_testid="point-row",
    )


def _search() -> rx.Component:
    return rx.el.form(
        rx.el.label(t("points.search"), html_for="point-search", class_name="field-label"),
        rx.el.div(
            rx.el.input(id="point-search", name="query", type="search", default_value=PointsState.query,
                        max_length=100, class_name="field-input plain-input",
                        aria_describedby="point-search-hint", key=PointsState.contract_key),
            rx.el.button(rx.icon("search", size=18, aria_hidden="true"), rx.el.span(t("points.find")),
                         type="submit", class_name="btn btn-blue btn-auto"),
            class_name="search-row",
        ),
        rx.el.p(t("points.search_hint"), id="point-search-hint", class_name="field-hint"),
        on_submit=PointsState.search,
        class_name="search-form",
        role="search",
    )


def _list() -> rx.Component:
    return rx.el.section(
        contract_panel_head(t("points.list_title"), PointsState, "points-title"),
        _search(),
        rx.cond(
            PointsState.total > 0,
            rx.fragment(
                data_table(t("points.caption"), [t(key) for key in (
                    "points.name", "points.meter", "points.coefficient", "points.next_check", "points.reading")],
                    PointsState.rows, _point_row, "points"),
                pager(PointsState.offset, PointsState.total, PAGE_SIZE, PointsState.show_page,
                      t("points.shown")),
            ),
            rx.el.p(rx.cond(PointsState.query != "", t("points.nothing_found"), t("points.empty")),
                    class_name="empty-state", data_testid="points-empty"),
        ),
        class_name="panel",
        aria_labelledby="points-title",
    )


# --------------------------------------------------------------------------- the card



def _transformer(row: TransformerRow) -> rx.Component:
    return rx.el.tr(
        cell(t("points.tr_kind"), row.kind), cell(t("points.tr_serial"), row.serial),
        cell(t("points.tr_ratio"), row.ratio), cell(t("points.accuracy"), row.accuracy),
        cell(t("points.verified"), row.verified),
        cell(t("points.next_check"), row.next_check, check_badge(row.check_state)),
        data_testid="transformer-row",
    )


def _installation(row: InstallationRow) -> rx.Component:
    return rx.el.tr(
        cell(t("points.meter"), row.meter,
              rx.cond(row.current, rx.el.span(t("points.current"), class_name="badge badge-ok"), rx.fragment())),
        cell(t("points.installed"), row.installed, class_name="nowrap"),
        cell(t("points.removed"), rx.cond(row.removed != "", row.removed, "—"), class_name="nowrap"),
        cell(t("points.initial"), row.initial),
        cell(t("points.final"), rx.cond(row.final != "", row.final, "—")),
        class_name=rx.cond(row.current, "row-current", ""),
        data_testid="installation-row",
    )


def history_row(row: HistoryItem) -> rx.Component:
    return rx.el.tr(
        cell(t("points.h_date"), row.as_of, class_name="nowrap"),
        cell(t("points.h_zone"), row.zone),
        cell(t("points.h_value"), row.value, class_name="nowrap num"),
        cell(t("points.h_consumption"), row.consumption, class_name="nowrap num"),
        cell(t("points.h_source"), row.source),
        cell(t("points.h_status"), rx.el.span(row.status, class_name="status status-" + row.status_kind)),
        data_testid="history-row",
    )


def _card() -> rx.Component:
    card = PointsState.card
    return card_panel(
        PointsState.card_open, "point-card", (t("points.card_title"), " «", card.name, "»"),
        PointsState.close_card,
            rx.el.dl(
                fact(t("points.address"), card.address),
                fact(t("points.code"), card.code),
                fact(t("points.kind"), card.kind),
                fact(t("points.voltage"), card.voltage),
                fact(t("points.power"), card.power),
                fact(t("points.losses"), card.losses, "card-losses"),
                fact(t("points.reading"), card.reading, "card-reading"),
                class_name="profile-list",
            ),
            rx.cond(
                card.has_meter,
                rx.fragment(
                    rx.el.h3(t("points.meter_title"), class_name="subtitle"),
                    rx.el.dl(
                        fact(t("points.serial"), card.meter, "card-meter"),
                        fact(t("points.model"), card.model),
                        fact(t("points.accuracy"), card.accuracy),
                        fact(t("points.capacity"), card.capacity, "card-capacity"),
                        fact(t("points.zones"), card.zones),
                        fact(t("points.connection"), card.connection),
                        fact(t("points.coefficient"), card.coefficient, "card-coefficient"),
                        fact(t("points.verified"), card.verified),
                        fact(t("points.next_check"),
                              rx.fragment(card.next_check, check_badge(card.check_state)), "card-next-check"),
                        class_name="profile-list",
                    ),
                    rx.cond(card.transformers.length() > 0, rx.fragment(
                        rx.el.h3(t("points.transformers"), class_name="subtitle"),
                        data_table(t("points.transformers"), [t(k) for k in (
                            "points.tr_kind", "points.tr_serial", "points.tr_ratio", "points.accuracy",
                            "points.verified", "points.next_check")], card.transformers, _transformer,
                            "transformers"),
                    ), rx.fragment()),
                ),
                rx.el.p(t("points.no_meter"), class_name="panel-note"),
            ),
            rx.el.h3(t("points.installations"), class_name="subtitle"),
            data_table(t("points.installations"), [t(k) for k in (
                "points.meter", "points.installed", "points.removed", "points.initial", "points.final")],
                card.installations, _installation, "installations"),
            rx.el.h3(t("points.history"), class_name="subtitle", id="history-title"),
            rx.cond(
                card.history.length() > 0,
                rx.fragment(
                    data_table(t("points.history"), [t(k) for k in (
                        "points.h_date", "points.h_zone", "points.h_value", "points.h_consumption",
                        "points.h_source", "points.h_status")], PointsState.history_shown, history_row, "history"),
                    rx.cond(PointsState.history_more > 0,
                            plain_button(t("points.history_all"), " (", PointsState.history_more, ")",
                                         on_click=PointsState.show_all_history),
                            rx.fragment()),
                ),
                rx.el.p(t("points.history_empty"), class_name="panel-note"),
            ),
            rx.el.a(rx.icon("gauge", size=16, aria_hidden="true"), rx.el.span(t("points.give_readings")),
                    href=routes.READINGS, class_name="icon-link"),
    )


def points_page() -> rx.Component:
    return contract_tab(routes.POINTS, PointsState, t("points.title"), _card(), _list(),
                        notice=status_line(PointsState.notice, "points-notice", "field-error"))
