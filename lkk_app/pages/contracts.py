"""Закладка «Договоры»: the bound contracts, a contract's card, «Привязать договор»."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.cabinet import cabinet_frame
from lkk_app.components.fields import text_field
from lkk_app.components.layout import (
    as_of_line,
    card_panel,
    cell,
    confirm_box,
    confirm_opener,
    data_table,
    event_form,
    fact,
    pager,
    panel,
    plain_button,
    status_line,
    submit_button,
)
from lkk_app.i18n import t
from lkk_app.state.contracts import (
    PAGE_SIZE,
    BindPanel,
    ContractRow,
    ContractsState,
    OfferedContract,
    OrganisationPanel,
    OrganisationRow,
)

# --------------------------------------------------------------------------- the list


def _contract_row(row: ContractRow) -> rx.Component:
    return rx.el.tr(
        cell(t("contracts.number"),
              rx.el.button(row.number, type="button", class_name="link-button",
                           on_click=ContractsState.open_card(row.key),
                           aria_label=t("contracts.open") + " " + row.number), class_name="nowrap"),
        cell(t("contracts.signed"), row.signed, class_name="nowrap"),
        cell(t("contracts.kind"), row.kind),
        cell(t("contracts.status"),
              rx.el.span(row.status, class_name=rx.cond(row.active, "badge badge-ok", "badge badge-warn")),
              class_name="nowrap"),
        cell(t("contracts.category"), row.category),
        cell(t("contracts.voltage"), row.voltage),
        cell(t("contracts.power"), row.power, class_name="nowrap"),
        cell(t("contracts.points"), row.points),
        data_testid="contract-row",
    )


def _list() -> rx.Component:
    return rx.el.section(
        rx.el.div(
            rx.el.h2(t("contracts.list_title"), class_name="panel-title", id="contracts-list-title"),
            as_of_line(ContractsState.as_of),
            class_name="panel-head",
        ),
        rx.cond(ContractsState.billing_down,
                rx.el.p(t("contracts.billing_down"), class_name="notice notice-warn", role="status",
                        data_testid="billing-down"),
                rx.fragment()),
        rx.cond(
            ContractsState.total > 0,
            rx.fragment(
                data_table(t("contracts.caption"), [t(key) for key in (
                    "contracts.number", "contracts.signed", "contracts.kind", "contracts.status",
                    "contracts.category", "contracts.voltage", "contracts.power", "contracts.points")],
                    ContractsState.rows, _contract_row, "contracts"),
                pager(ContractsState.offset, ContractsState.total, PAGE_SIZE, ContractsState.show_page,
                      t("contracts.shown")),
            ),
            rx.el.div(
                rx.el.p(t("contracts.empty_title"), class_name="empty-title"),
                rx.el.p(t("contracts.empty_text"), class_name="panel-note"),
                class_name="empty-state",
                data_testid="contracts-empty",
            ),
        ),
        class_name="panel",
        aria_labelledby="contracts-list-title",
    )


# --------------------------------------------------------------------------- the card



def _card() -> rx.Component:
    card = ContractsState.card
    return card_panel(
        ContractsState.card_open, "contract-card", (t("contracts.card_title"), " ", card.number),
        ContractsState.close_card,
            rx.el.dl(
                fact(t("contracts.number"), card.number, "card-number"),
                fact(t("contracts.signed"), card.signed),
                fact(t("contracts.kind"), card.kind),
                fact(t("contracts.status"), card.status, "card-status"),
                fact(t("contracts.valid"), card.valid),
                fact(t("contracts.category"), card.category),
                fact(t("contracts.voltage"), card.voltage),
                fact(t("contracts.power"), card.power, "card-power"),
                fact(t("contracts.payment"), card.payment),
                fact(t("contracts.window_label"), card.window),
                fact(t("contracts.points"), card.points),
                fact(t("contracts.department"), card.department, "card-department"),
                class_name="profile-list",
            ),
            rx.el.h3(t("contracts.curator"), class_name="subtitle"),
            rx.el.dl(
                fact(t("contracts.curator_name"), card.curator_name, "card-curator"),
                fact(t("contracts.curator_phone"),
                      rx.el.a(card.curator_phone, href="tel:" + card.curator_phone)),
                fact(t("contracts.curator_email"),
                      rx.el.a(card.curator_email, href="mailto:" + card.curator_email)),
                class_name="profile-list",
            ),
            status_line(ContractsState.card_message, "card-message", "field-error"),
            rx.cond(
                ContractsState.card_admin,
                rx.cond(
                    ContractsState.confirm_unbind,
                    confirm_box("unbind-question", (t("contracts.unbind_question"), " ", card.number, "?"),
                                rx.el.p(t("contracts.unbind_note"), class_name="panel-note"),
                                yes=t("contracts.unbind_yes"), busy_label=t("contracts.unbinding"),
                                busy_flag=ContractsState.unbind_busy, on_yes=ContractsState.unbind,
                                cancel=t("contracts.cancel"), on_cancel=ContractsState.cancel_unbind,
                                done_focus="contracts-notice"),
                    confirm_opener("unbind-question", rx.icon("unlink", size=18, aria_hidden="true"),
                                   rx.el.span(t("contracts.unbind")), on_click=ContractsState.ask_unbind),
                ),
                rx.fragment(),
            ),
    )


# --------------------------------------------------------------------------- «Привязать договор»


def _find_form() -> rx.Component:
    return event_form(
        text_field("inn", t("binding.inn"), "building-2", input_type="text", autocomplete="off",
                   error=BindPanel.errors.get("inn", ""), hint=t("binding.inn_hint"), max_length=14,
                   input_mode="numeric", on_change=BindPanel.set_inn.debounce(300)),
        rx.cond(
            BindPanel.kpp_needed,
            text_field("kpp", t("binding.kpp"), "hash", error=BindPanel.errors.get("kpp", ""),
                       hint=t("binding.kpp_hint"), max_length=12),
            rx.el.p(t("binding.kpp_not_needed"), class_name="panel-note", data_testid="kpp-not-needed"),
        ),
        text_field("number", t("binding.number"), "file-text", error=BindPanel.errors.get("number", ""),
                   hint=t("binding.number_hint"), max_length=60),
        status_line(BindPanel.form_message, "bind-message", "notice"),
        rx.el.div(
            submit_button(t("binding.find"), t("binding.finding"), icon="search", variant="blue",
                          busy_flag=BindPanel.bind_busy),
            plain_button(t("contracts.cancel"), on_click=BindPanel.cancel),
            class_name="button-row",
        ),
        on_submit=BindPanel.find,
        narrow=True,
    )


def _code_form() -> rx.Component:
    return event_form(
        status_line(BindPanel.code_message, "code-message"),
        text_field("code", t("binding.code"), "key-round", error=BindPanel.errors.get("code", ""),
                   hint=t("binding.code_hint"), max_length=20, autocomplete="one-time-code",
                   input_mode="text"),
        rx.el.div(
            submit_button(t("binding.confirm"), t("binding.confirming"), icon="check", variant="green",
                          busy_flag=BindPanel.bind_busy),
            plain_button(t("binding.resend"), on_click=BindPanel.resend, disabled=BindPanel.bind_busy),
            plain_button(t("contracts.cancel"), on_click=BindPanel.cancel),
            class_name="button-row",
        ),
        on_submit=BindPanel.confirm,
        narrow=True,
    )


def _offered(item: OfferedContract) -> rx.Component:
    return rx.el.label(
        rx.el.input(type="checkbox", name="more-" + item.key, id="more-" + item.key, default_checked=True),
        rx.el.span(item.number, " — ", item.kind),
        class_name="check-row",
    )


def _done() -> rx.Component:
    return rx.el.div(
        rx.el.p(BindPanel.bound_text, class_name="saved", role="status", id="bind-done", tab_index=-1,
                data_testid="bind-done"),
        rx.cond(
            BindPanel.offered.length() > 0,
            rx.el.form(
                rx.el.fieldset(
                    rx.el.legend(t("binding.offered"), " ", BindPanel.organisation_name),
                    rx.foreach(BindPanel.offered, _offered),
                ),
                status_line(BindPanel.more_message, "more-message", "field-error"),
                rx.el.div(
                    submit_button(t("binding.bind_more"), t("binding.binding_more"), icon="link",
                                  variant="blue", busy_flag=BindPanel.bind_busy),
                    plain_button(t("binding.finish"), on_click=BindPanel.cancel),
                    class_name="button-row",
                ),
                on_submit=BindPanel.bind_more,
                class_name="form",
            ),
            plain_button(t("binding.finish"), on_click=BindPanel.cancel),
        ),
    )


def _bind_panel() -> rx.Component:
    return rx.cond(
        BindPanel.step != "",
        panel(
            t("binding.title"), "bind-title",
            rx.el.p(t("binding.intro"), class_name="panel-note"),
            rx.match(
                BindPanel.step,
                ("form", _find_form()),
                ("code", _code_form()),
                ("done", _done()),
                rx.fragment(),
            ),
            id="bind-panel",
        ),
        rx.fragment(),
    )


def _organisation(row: OrganisationRow) -> rx.Component:
    field_id = "notice-email-" + row.key
    return rx.el.form(
        rx.el.input(type="hidden", name="organisation", value=row.key),
        rx.el.div(
            rx.el.label(t("organisation.email"), " — ", row.name, html_for=field_id, class_name="field-label"),
            rx.el.div(
                rx.el.input(id=field_id, name="email", type="email", default_value=row.email, max_length=254,
                            auto_complete="email", class_name="field-input plain-input",
                            aria_describedby="notice-hint " + "notice-error", key=row.key + row.email),
                submit_button(t("organisation.save"), t("organisation.saving"), icon="check", variant="blue",
                              busy_flag=OrganisationPanel.notice_busy),
                class_name="search-row",
            ),
            class_name="field",
        ),
        on_submit=OrganisationPanel.save_notice_email,
        no_validate=True,
        class_name="form",
    )


def _organisations() -> rx.Component:
    return rx.cond(
        ContractsState.organisations.length() > 0,
        panel(
            t("organisation.title"), "organisation-title",
            rx.el.p(t("organisation.hint"), id="notice-hint", class_name="panel-note"),
            rx.foreach(ContractsState.organisations, _organisation),
            rx.el.p(OrganisationPanel.notice_error, id="notice-error", class_name="field-error", role="alert"),
            status_line(OrganisationPanel.notice_saved, "notice-saved"),
        ),
        rx.fragment(),
    )


def contracts_page() -> rx.Component:
    return cabinet_frame(
        routes.CONTRACTS,
        ContractsState.loaded,
        rx.el.div(
            rx.el.h1(t("contracts.title"), class_name="section-title"),
            rx.cond(BindPanel.step == "",
                    rx.el.button(rx.icon("link", size=18, aria_hidden="true"),
                                 rx.el.span(t("binding.start")), type="button", class_name="btn btn-green btn-auto",
                                 on_click=BindPanel.start, data_testid="bind-start"),
                    rx.fragment()),
            class_name="page-head",
        ),
        status_line(ContractsState.notice, "contracts-notice", id="contracts-notice", tab_index=-1),
        _bind_panel(),
        _card(),
        _list(),
        _organisations(),
    )
