"""Закладка «Точки учёта»: the contract's points and meters, a point's card."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.cabinet import cabinet_frame, contract_switcher
from lkk_app.components.layout import as_of_line, data_table, pager, plain_button, status_line
from lkk_app.i18n import t
from lkk_app.state.points import (
    PAGE_SIZE,
    HistoryItem,
    InstallationRow,
    PointRow,
    PointsState,
    TransformerRow,
)


def _cell(label: str, *children, **props) -> rx.Component:
    return rx.el.td(rx.el.span(*children, class_name="cell-value"), data_label=label, **props)


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
        _cell(t("points.name"),
              rx.el.button(row.name, type="button", class_name="link-button",
                           on_click=PointsState.open_point(row.key), aria_label=t("points.open") + " " + row.name),
              rx.el.span(row.address, class_name="cell-note"),
              rx.el.span(row.kind, " · ", row.voltage, " · ", row.power, class_name="cell-note")),
        _cell(t("points.meter"), row.meter, rx.el.span(row.model, class_name="cell-note"),
              rx.el.span(row.zones, class_name="cell-note")),
        _cell(t("points.coefficient"), row.coefficient),
        _cell(t("points.next_check"), row.next_check, check_badge(row.check_state), class_name="nowrap"),
        _cell(t("points.reading"),
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
        rx.el.div(
            rx.el.h2(t("points.list_title"), " ", PointsState.contract_number, class_name="panel-title",
                     id="points-title"),
            as_of_line(PointsState.as_of),
            class_name="panel-head",
        ),
        rx.cond(PointsState.billing_down,
                rx.el.p(t("contracts.billing_down"), class_name="notice notice-warn", role="status"),
                rx.fragment()),
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


def _fact(label: str, value, test_id: str = "") -> rx.Component:
    return rx.el.div(rx.el.dt(label), rx.el.dd(value, data_testid=test_id or None), class_name="profile-row")


def _transformer(row: TransformerRow) -> rx.Component:
    return rx.el.tr(
        _cell(t("points.tr_kind"), row.kind), _cell(t("points.tr_serial"), row.serial),
        _cell(t("points.tr_ratio"), row.ratio), _cell(t("points.accuracy"), row.accuracy),
        _cell(t("points.verified"), row.verified),
        _cell(t("points.next_check"), row.next_check, check_badge(row.check_state)),
        data_testid="transformer-row",
    )


def _installation(row: InstallationRow) -> rx.Component:
    return rx.el.tr(
        _cell(t("points.meter"), row.meter,
              rx.cond(row.current, rx.el.span(t("points.current"), class_name="badge badge-ok"), rx.fragment())),
        _cell(t("points.installed"), row.installed, class_name="nowrap"),
        _cell(t("points.removed"), rx.cond(row.removed != "", row.removed, "—"), class_name="nowrap"),
        _cell(t("points.initial"), row.initial),
        _cell(t("points.final"), rx.cond(row.final != "", row.final, "—")),
        class_name=rx.cond(row.current, "row-current", ""),
        data_testid="installation-row",
    )


def history_row(row: HistoryItem) -> rx.Component:
    return rx.el.tr(
        _cell(t("points.h_date"), row.as_of, class_name="nowrap"),
        _cell(t("points.h_zone"), row.zone),
        _cell(t("points.h_value"), row.value, class_name="nowrap num"),
        _cell(t("points.h_consumption"), row.consumption, class_name="nowrap num"),
        _cell(t("points.h_source"), row.source),
        _cell(t("points.h_status"), rx.el.span(row.status, class_name="status status-" + row.status_kind)),
        data_testid="history-row",
    )


def _card() -> rx.Component:
    card = PointsState.card
    return rx.cond(
        PointsState.card_open,
        rx.el.section(
            rx.el.div(
                rx.el.h2(t("points.card_title"), " «", card.name, "»", class_name="panel-title",
                         id="point-card-title"),
                rx.el.button(rx.icon("x", size=16, aria_hidden="true"), rx.el.span(t("contracts.close")),
                             type="button", class_name="btn-small", on_click=PointsState.close_card),
                class_name="panel-head",
            ),
            rx.el.dl(
                _fact(t("points.address"), card.address),
                _fact(t("points.code"), card.code),
                _fact(t("points.kind"), card.kind),
                _fact(t("points.voltage"), card.voltage),
                _fact(t("points.power"), card.power),
                _fact(t("points.losses"), card.losses, "card-losses"),
                _fact(t("points.reading"), card.reading, "card-reading"),
                class_name="profile-list",
            ),
            rx.cond(
                card.has_meter,
                rx.fragment(
                    rx.el.h3(t("points.meter_title"), class_name="subtitle"),
                    rx.el.dl(
                        _fact(t("points.serial"), card.meter, "card-meter"),
                        _fact(t("points.model"), card.model),
                        _fact(t("points.accuracy"), card.accuracy),
                        _fact(t("points.capacity"), card.capacity, "card-capacity"),
                        _fact(t("points.zones"), card.zones),
                        _fact(t("points.connection"), card.connection),
                        _fact(t("points.coefficient"), card.coefficient, "card-coefficient"),
                        _fact(t("points.verified"), card.verified),
                        _fact(t("points.next_check"),
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
            class_name="panel",
            id="point-card",
            tab_index=-1,
            aria_labelledby="point-card-title",
        ),
        rx.fragment(),
    )


def points_page() -> rx.Component:
    return cabinet_frame(
        routes.POINTS,
        PointsState.loaded,
        rx.el.h1(t("points.title"), class_name="section-title"),
        status_line(PointsState.notice, "points-notice", "field-error"),
        rx.cond(
            PointsState.choices.length() == 0,
            rx.el.div(
                rx.el.p(t("points.no_contracts"), class_name="empty-title"),
                rx.el.a(t("points.to_contracts"), href=routes.CONTRACTS),
                class_name="panel empty-state", data_testid="points-no-contracts",
            ),
            rx.fragment(_card(), _list()),
        ),
        switcher=contract_switcher(PointsState.choices, PointsState.contract_key, PointsState.choose_contract),
    )
