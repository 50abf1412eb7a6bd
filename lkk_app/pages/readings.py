"""Закладка «Показания»: the month's readings form of the chosen contract."""

import reflex as rx

from lkk_app import routes
from lkk_app.billing.readings import excel
from lkk_app.components.cabinet import contract_tab
from lkk_app.components.layout import cell, data_table, submit_button
from lkk_app.i18n import t
from lkk_app.state.readings import (
    COMMENT,
    CONFIRM,
    VALUE,
    GivenRow,
    ImportRow,
    MeterGroup,
    ReadingsState,
    RegisterRow,
    RemoteRow,
    WarningRow,
)


def _warning(item: WarningRow) -> rx.Component:
    return rx.el.div(
        rx.el.p(rx.icon("triangle-alert", size=16, aria_hidden="true"), rx.el.span(item.text),
                class_name="warning-text"),
        rx.el.label(
            rx.el.input(type="checkbox", name=CONFIRM + item.token, id="w-" + item.token,
                        default_checked=item.checked, key=item.token + rx.cond(item.checked, "1", "0")),
            rx.el.span(item.confirm),
            class_name="confirm-row",
        ),
        class_name="reading-warning",
        data_testid="reading-warning",
    )


def _register(row: RegisterRow) -> rx.Component:
    input_id = "v-" + row.key
    return rx.fragment(
        rx.el.tr(
            cell(t("readings.zone"), rx.el.strong(row.zone)),
            cell(t("readings.previous"), row.previous, rx.el.span(row.previous_on, class_name="cell-note"),
                  class_name="nowrap"),
            cell(
                t("readings.new_value"),
                rx.cond(
                    row.locked,
                    rx.el.span(rx.cond(row.value != "", row.value, "—"), data_testid="locked-value"),
                    rx.el.div(
                        rx.el.label(t("readings.new_value_for"), " ", row.zone, class_name="sr-only",
                                    html_for=input_id),
                        rx.el.input(
                            id=input_id, name=VALUE + row.key, default_value=row.value, input_mode="decimal",
                            auto_complete="off", max_length=20, class_name="field-input reading-input",
                            aria_invalid=rx.cond(row.error != "", "true", "false"),
                            aria_describedby="e-" + row.key,
                            on_blur=lambda value: ReadingsState.preview(row.key, value),
                        ),
                        rx.el.p(row.error, id="e-" + row.key, class_name="field-error", role="alert"),
                    ),
                ),
            ),
            cell(t("readings.consumption"), rx.el.span(row.consumption, class_name="num-strong"),
                  rx.el.span(row.formula, class_name="cell-note formula", data_testid="formula")),
            cell(t("readings.status"), rx.el.span(row.status, class_name="status status-" + row.status_kind)),
            data_testid="register-row",
        ),
        rx.cond(
            (row.warnings.length() > 0) | row.needs_comment,
            rx.el.tr(
                rx.el.td(
                    rx.foreach(row.warnings, _warning),
                    rx.cond(
                        row.needs_comment,
                        rx.el.div(
                            rx.el.label(t("readings.comment"), html_for="c-" + row.key, class_name="field-label"),
                            rx.el.textarea(id="c-" + row.key, name=COMMENT + row.key, default_value=row.comment,
                                           max_length=500, rows=2, class_name="field-input comment-input"),
                            class_name="field",
                        ),
                        rx.fragment(),
                    ),
                    col_span=5,
                    class_name="warning-cell",
                ),
                class_name="warning-row",
            ),
            rx.fragment(),
        ),
    )


def _group(group: MeterGroup) -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend(group.point, " — ", group.meter, class_name="meter-legend"),
        rx.el.p(group.address, " · ", t("readings.k"), " ", group.coefficient,
                rx.cond(group.losses != "", rx.fragment(" · ", t("points.losses"), ": ", group.losses),
                        rx.fragment()),
                class_name="panel-note"),
        rx.cond(group.error != "", rx.el.p(group.error, class_name="form-error", role="alert"), rx.fragment()),
        rx.foreach(group.warnings, _warning),
        data_table(t("readings.caption"), [t(k) for k in (
            "readings.zone", "readings.previous", "readings.new_value", "readings.consumption",
            "readings.status")], group.registers, _register, "readings"),
        class_name="meter-group",
        data_testid="meter-group",
    )


def _remote_row(row: RemoteRow) -> rx.Component:
    return rx.el.tr(
        cell(t("points.name"), row.point), cell(t("points.meter"), row.meter), cell(t("readings.zone"), row.zone),
        cell(t("readings.received"), row.value, class_name="nowrap num"),
        cell(t("points.h_date"), row.as_of, class_name="nowrap"),
        cell(t("readings.consumption"), row.consumption, class_name="nowrap num"),
        data_testid="remote-row",
    )


def _given_row(row: GivenRow) -> rx.Component:
    return rx.el.tr(
        cell(t("readings.given_time"), row.time, class_name="nowrap"), cell(t("readings.given_who"), row.who),
        cell(t("readings.given_source"), row.source), cell(t("readings.given_count"), row.count),
        cell(t("readings.status"), rx.el.span(row.status, class_name="status status-" + row.status_kind)),
        cell(t("readings.given_reference"), rx.cond(row.reference != "", row.reference, "—")),
        data_testid="given-row",
    )


def _import_row(row: ImportRow) -> rx.Component:
    return rx.el.tr(
        cell(t("excel.row"), row.number),
        cell(t("points.name"), row.point),
        cell(t("points.meter"), row.meter),
        cell(t("readings.zone"), row.zone),
        cell(t("readings.new_value"), row.value, class_name="nowrap num"),
        cell(t("excel.result"), rx.el.span(row.result, class_name="status status-" + row.kind),
              rx.foreach(row.warnings, _warning)),
        data_testid="import-row",
    )


def _named_file_input(upload: rx.Component, label: str) -> rx.Component:
    """``rx.upload.root`` with its hidden ``<input type=file>`` named too: the
    zone around it is the control people use, but the input stays in the
    accessibility tree and a screen reader's list of fields would show it
    without a name."""
    zone = upload.children[0]
    zone.children[0].custom_attrs["aria-label"] = label
    return upload


def _file_panel() -> rx.Component:
    """«Скачать шаблон», «Загрузить файл», and the report of the file uploaded."""
    return rx.el.section(
        rx.el.h2(t("excel.title_panel"), class_name="panel-title", id="file-title"),
        rx.el.p(t("excel.intro"), class_name="panel-note"),
        rx.el.div(
            rx.el.button(rx.icon("file-down", size=18, aria_hidden="true"), rx.el.span(t("excel.download")),
                         type="button", class_name="btn btn-plain btn-auto", on_click=ReadingsState.download_template),
            rx.cond(
                ReadingsState.editable,
                _named_file_input(rx.upload.root(
                    rx.el.span(rx.icon("file-up", size=18, aria_hidden="true"), rx.el.span(t("excel.upload")),
                               class_name="btn btn-blue btn-auto", aria_busy=rx.cond(ReadingsState.import_busy,
                                                                                     "true", "false")),
                    id="readings-file",
                    accept={excel.MIME: [".xlsx"]},
                    max_files=1,
                    max_size=excel.MAX_FILE,
                    multiple=False,
                    no_drag=True,
                    on_drop=ReadingsState.upload(rx.upload_files(upload_id="readings-file")),
                    on_drop_rejected=ReadingsState.upload_rejected,
                    class_name="upload-root",
                    aria_label=t("excel.upload_label"),
                ), t("excel.upload_label")),
                rx.fragment(),
            ),
            class_name="button-row",
        ),
        rx.el.p(ReadingsState.import_message, id="import-message", tab_index=-1, role="status",
                class_name=rx.cond(ReadingsState.import_message != "",
                                   rx.cond(ReadingsState.import_ok, "saved", "form-error"), ""),
                data_testid="import-message"),
        rx.cond(
            ReadingsState.import_rows.length() > 0,
            rx.el.form(
                data_table(t("excel.report"), [t(k) for k in (
                    "excel.row", "points.name", "points.meter", "readings.zone", "readings.new_value",
                    "excel.result")], ReadingsState.import_rows, _import_row, "import"),
                rx.el.div(
                    rx.cond(ReadingsState.import_ok,
                            submit_button(t("excel.send"), t("readings.sending"), icon="send", variant="green",
                                          busy_flag=ReadingsState.import_busy),
                            rx.fragment()),
                    rx.el.button(t("contracts.cancel"), type="button", class_name="btn btn-plain btn-auto",
                                 on_click=ReadingsState.cancel_import),
                    class_name="button-row",
                ),
                on_submit=ReadingsState.submit_file,
                no_validate=True,
                class_name="form",
            ),
            rx.fragment(),
        ),
        class_name="panel",
        aria_labelledby="file-title",
    )


def _form() -> rx.Component:
    return rx.el.form(
        rx.el.input(type="hidden", name="form_key", value=ReadingsState.form_key),
        rx.foreach(ReadingsState.groups, _group),
        rx.cond(
            ReadingsState.editable,
            rx.el.div(
                submit_button(rx.cond(ReadingsState.pending, t("readings.replace"), t("readings.send")),
                              t("readings.sending"), icon="send", variant="green",
                              busy_flag=ReadingsState.submitting),
                class_name="button-row",
            ),
            rx.fragment(),
        ),
        on_submit=ReadingsState.submit,
        no_validate=True,
        class_name="form readings-form",
        aria_labelledby="readings-title",
    )


def _main() -> rx.Component:
    return rx.fragment(
        rx.el.section(
            rx.el.h2(t("readings.form_title"), " ", ReadingsState.contract_number, class_name="panel-title",
                     id="readings-title"),
            rx.el.p(ReadingsState.window_text, class_name=rx.cond(ReadingsState.window_open, "window-line",
                                                                   "window-line notice notice-warn"),
                    data_testid="window-line"),
            rx.cond(ReadingsState.window_open & ReadingsState.pending & ReadingsState.editable,
                    rx.el.p(ReadingsState.replace_note, class_name="notice", data_testid="replace-note"),
                    rx.fragment()),
            rx.cond(ReadingsState.window_open & ~ReadingsState.may_submit,
                    rx.el.p(t("rights.readings"), class_name="notice notice-warn"), rx.fragment()),
            rx.el.p(ReadingsState.form_message, id="readings-message", tab_index=-1,
                    class_name=rx.cond(ReadingsState.form_message != "", "form-error", ""), role="alert",
                    data_testid="readings-message"),
            rx.el.p(ReadingsState.done_message, id="readings-done", tab_index=-1,
                    class_name=rx.cond(ReadingsState.done_message != "", "saved", ""), role="status",
                    data_testid="readings-done"),
            rx.cond(ReadingsState.groups.length() > 0, _form(),
                    rx.el.p(t("readings.no_meters"), class_name="panel-note")),
            class_name="panel",
            aria_labelledby="readings-title",
        ),
        rx.cond(ReadingsState.groups.length() > 0, _file_panel(), rx.fragment()),
        rx.cond(
            ReadingsState.remote_rows.length() > 0,
            rx.el.section(
                rx.el.h2(t("readings.remote_title"), class_name="panel-title", id="remote-title"),
                rx.el.p(t("readings.remote_note"), class_name="panel-note"),
                data_table(t("readings.remote_title"), [t(k) for k in (
                    "points.name", "points.meter", "readings.zone", "readings.received", "points.h_date",
                    "readings.consumption")], ReadingsState.remote_rows, _remote_row, "remote"),
                class_name="panel", aria_labelledby="remote-title",
            ),
            rx.fragment(),
        ),
        rx.cond(
            ReadingsState.given_rows.length() > 0,
            rx.el.section(
                rx.el.h2(t("readings.given_title"), class_name="panel-title", id="given-title"),
                data_table(t("readings.given_title"), [t(k) for k in (
                    "readings.given_time", "readings.given_who", "readings.given_source", "readings.given_count",
                    "readings.status", "readings.given_reference")], ReadingsState.given_rows, _given_row, "given"),
                class_name="panel", aria_labelledby="given-title",
            ),
            rx.fragment(),
        ),
    )


def readings_page() -> rx.Component:
    return contract_tab(routes.READINGS, ReadingsState, t("readings.title"), _main())
