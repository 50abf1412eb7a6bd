"""Закладка «Документы»: the contract's documents (filters, order, pages, PDF and
.zip downloads) and «Запросить акт сверки»."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.cabinet import contract_panel_head, contract_tab
from lkk_app.components.fields import field_error
from lkk_app.components.layout import cell, pager, plain_button, status_line, submit_button
from lkk_app.i18n import t
from lkk_app.state.documents import PAGE_SIZE, DocumentRow, DocumentsState, RequestRow


def _select(field_id: str, name: str, label: str, options: rx.Var, value: rx.Var) -> rx.Component:
    return rx.el.div(
        rx.el.label(label, html_for=field_id, class_name="field-label"),
        rx.el.select(rx.foreach(options, lambda o: rx.el.option(o.text, value=o.value)), id=field_id, name=name,
                     default_value=value, key=value, class_name="switch-select filter-input"),
        class_name="filter-field",
    )


def month_field(field_id: str, name: str, label: str, options: rx.Var, value: rx.Var, error: rx.Var) -> rx.Component:
    """A month chosen from a list («ноябрь 2026»), with its error."""
    return rx.el.div(
        rx.el.label(label, html_for=field_id, class_name="field-label"),
        rx.el.select(rx.foreach(options, lambda o: rx.el.option(o.text, value=o.value)), id=field_id, name=name,
                     default_value=value, key=value + options.length().to_string(),
                     class_name="switch-select filter-input",
                     aria_invalid=rx.cond(error != "", "true", "false"), aria_describedby=field_id + "-error"),
        field_error(field_id, error),
        class_name="filter-field",
    )


def _filters() -> rx.Component:
    s = DocumentsState
    return rx.el.form(
        rx.el.div(
            _select("doc-kind", "kind", t("documents.kind"), s.kind_options, s.kind),
            _select("doc-status", "status", t("documents.status"), s.status_options, s.status),
            month_field("doc-month-from", "month_from", t("documents.month_from"), s.any_months, s.month_from,
                        s.errors.get("month_from", "")),
            month_field("doc-month-to", "month_to", t("documents.month_to"), s.any_months, s.month_to,
                        s.errors.get("month_to", "")),
            class_name="filter-row",
        ),
        rx.el.div(
            rx.el.button(rx.icon("filter", size=18, aria_hidden="true"), rx.el.span(t("documents.apply")),
                         type="submit", class_name="btn btn-blue btn-auto"),
            rx.cond(s.filtered, plain_button(t("documents.reset"), on_click=DocumentsState.reset_filter),
                    rx.fragment()),
            class_name="button-row",
        ),
        on_submit=DocumentsState.apply_filter,
        no_validate=True,
        class_name="filter-form",
        aria_label=t("documents.filters"),
    )


def _request(row: RequestRow) -> rx.Component:
    return rx.el.li(
        rx.el.strong(t("documents.act_of")), " ", row.period, " — ",
        rx.el.span(row.status, class_name=rx.cond(row.failed, "status status-bad", "status status-wait")),
        rx.el.span(row.asked, class_name="cell-note"),
        data_testid="act-request",
    )


def _row(row: DocumentRow) -> rx.Component:
    s = DocumentsState
    return rx.el.tr(
        cell(t("documents.select"),
             rx.cond(row.href != "",
                     # The label around the tick: a 44 px hit area on a phone (assets/lkk.css).
                     rx.el.label(
                         rx.el.input(type="checkbox", checked=s.selected.contains(row.key),
                                     on_change=DocumentsState.toggle(row.key), class_name="row-check",
                                     aria_label=t("documents.select") + " " + row.kind + " " + row.number),
                         class_name="row-check-hit"),
                     rx.fragment()),
             class_name="cell-check"),
        cell(t("documents.col_kind"), rx.el.strong(row.kind), rx.el.span(row.note, class_name="cell-note")),
        cell(t("documents.col_number"), row.number, class_name="nowrap"),
        cell(t("documents.col_date"), row.issued, class_name="nowrap"),
        cell(t("documents.col_period"), row.period),
        cell(t("documents.col_amount"), row.amount, rx.el.span(row.vat, class_name="cell-note"),
             class_name="nowrap num"),
        cell(t("documents.col_status"), rx.el.span(row.status, class_name="status status-" + row.status_kind)),
        rx.el.td(
            rx.cond(row.href != "",
                    rx.el.a(rx.icon("download", size=16, aria_hidden="true"), rx.el.span(t("documents.download")),
                            href=row.href, download="", class_name="icon-link",
                            data_failed=t("common.download_failed"),
                            aria_label=t("documents.download") + " " + row.kind + " " + row.number,
                            custom_attrs={"reloadDocument": True}),
                    rx.el.span(t("documents.not_ready"), class_name="cell-note")),
            class_name="cell-action",
        ),
        class_name=rx.cond(s.selected.contains(row.key), "row-current", ""),
        data_testid="document-row",
    )


def _date_header() -> rx.Component:
    s = DocumentsState
    return rx.el.th(
        rx.el.button(t("documents.col_date"), " ", rx.cond(s.newest_first, "↓", "↑"), type="button",
                     class_name="link-button sort-button", on_click=DocumentsState.toggle_order,
                     aria_label=rx.cond(s.newest_first, t("documents.sort_old_first"), t("documents.sort_new_first"))),
        scope="col",
        aria_sort=rx.cond(s.newest_first, "descending", "ascending"),
    )


def _table() -> rx.Component:
    s = DocumentsState
    headers = [rx.el.th(rx.el.span(t("documents.select_col"), class_name="sr-only"), scope="col"),
               rx.el.th(t("documents.col_kind"), scope="col"), rx.el.th(t("documents.col_number"), scope="col"),
               _date_header(), rx.el.th(t("documents.col_period"), scope="col"),
               rx.el.th(t("documents.col_amount"), scope="col"), rx.el.th(t("documents.col_status"), scope="col"),
               rx.el.th(rx.el.span(t("documents.file_col"), class_name="sr-only"), scope="col")]
    return rx.el.table(
        rx.el.caption(t("documents.caption"), class_name="sr-only"),
        rx.el.thead(rx.el.tr(*headers)),
        rx.el.tbody(rx.foreach(s.rows, _row)),
        class_name="data-table documents-table",
    )


def _selection() -> rx.Component:
    s = DocumentsState
    return rx.el.div(
        rx.el.span(t("documents.selected"), " ", s.selected.length(), class_name="pager-text",
                   data_testid="selected-count"),
        rx.cond(
            s.zip_href != "",
            rx.el.a(rx.icon("file-archive", size=16, aria_hidden="true"), rx.el.span(t("documents.download_zip")),
                    href=s.zip_href, download="", class_name="btn btn-blue btn-auto btn-link-like",
                    data_failed=t("common.download_failed"),
                    custom_attrs={"reloadDocument": True}, data_testid="download-zip"),
            rx.el.span(t("documents.select_hint"), class_name="cell-note"),
        ),
        plain_button(rx.cond(s.newest_first, t("documents.newest_first"), t("documents.oldest_first")),
                     on_click=DocumentsState.toggle_order, data_testid="order-toggle",
                     aria_label=rx.cond(s.newest_first, t("documents.sort_old_first"), t("documents.sort_new_first"))),
        plain_button(t("documents.select_page"), on_click=DocumentsState.select_page),
        rx.cond(s.selected.length() > 0, plain_button(t("documents.clear_selection"),
                                                      on_click=DocumentsState.clear_selection), rx.fragment()),
        class_name="button-row selection-row",
    )


def _list() -> rx.Component:
    s = DocumentsState
    return rx.el.section(
        contract_panel_head(t("documents.list_title"), s, "documents-title"),
        _filters(),
        rx.cond(s.requests.length() > 0,
                rx.el.ul(rx.foreach(s.requests, _request), class_name="request-list", aria_live="polite"),
                rx.fragment()),
        rx.cond(
            s.total > 0,
            rx.fragment(
                _selection(),
                _table(),
                pager(s.offset, s.total, PAGE_SIZE, DocumentsState.show_page, t("documents.shown")),
            ),
            rx.el.p(rx.cond(s.filtered, t("documents.nothing_found"), t("documents.empty")),
                    class_name="empty-state", data_testid="documents-empty"),
        ),
        class_name="panel",
        aria_labelledby="documents-title",
    )


def _act_form() -> rx.Component:
    s = DocumentsState
    return rx.el.section(
        rx.el.h2(t("documents.act_title"), class_name="panel-title", id="act-title"),
        rx.el.p(t("documents.act_note"), class_name="panel-note"),
        rx.el.form(
            rx.el.div(
                month_field("act-from", "act_from", t("documents.act_from"), s.months, s.act_from,
                            s.act_errors.get("month_from", "")),
                month_field("act-to", "act_to", t("documents.act_to"), s.months, s.act_to,
                            s.act_errors.get("month_to", "")),
                class_name="filter-row",
            ),
            submit_button(t("documents.act_request"), t("documents.act_requesting"), icon="send",
                          variant="blue btn-auto", busy_flag=s.act_busy),
            on_submit=DocumentsState.request_act,
            no_validate=True,
            class_name="filter-form",
        ),
        status_line(s.act_message, "act-message"),
        class_name="panel",
        aria_labelledby="act-title",
    )


def documents_page() -> rx.Component:
    return contract_tab(
        routes.DOCUMENTS, DocumentsState, t("documents.title"),
        _list(), _act_form(),
        notice=status_line(DocumentsState.notice, "documents-notice", "field-error"),
    )
