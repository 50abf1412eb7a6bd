"""Закладка «Профиль» (manual figure 3)."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.cabinet import cabinet_frame
from lkk_app.components.fields import new_password_fields, text_field
from lkk_app.components.layout import (
    cell,
    confirm_box,
    confirm_opener,
    data_table,
    event_form,
    fact,
    panel,
    submit_button,
)
from lkk_app.i18n import t
from lkk_app.state.profile import (
    JournalItem,
    NotificationsPanel,
    PasswordPanel,
    PhonePanel,
    ProfileState,
    SessionItem,
    SessionsPanel,
)


def _saved(message: rx.Var) -> rx.Component:
    return rx.el.p(message, class_name="saved", role="status", aria_live="polite")


def _phone_form() -> rx.Component:
    return panel(
        t("profile.phone_section"), "phone-title",
        event_form(
            text_field("phone", t("profile.phone"), "phone", input_type="tel", autocomplete="tel",
                       default_value=ProfileState.phone_value, error=PhonePanel.phone_error,
                       hint=t("profile.phone_hint"), max_length=32, required=False,
                       key=ProfileState.phone_value),
            submit_button(t("profile.phone_save"), t("profile.phone_saving"), icon="check",
                          variant="blue", busy_flag=PhonePanel.phone_busy),
            _saved(PhonePanel.phone_saved),
            on_submit=PhonePanel.save_phone,
            narrow=True,
        ),
    )


def _password_form() -> rx.Component:
    return panel(
        t("profile.password_section"), "password-title",
        event_form(
            text_field("current_password", t("profile.current_password"), "lock",
                       input_type="password", autocomplete="current-password",
                       error=PasswordPanel.errors.get("current_password", ""), max_length=256),
            *new_password_fields("new_password", t("profile.new_password"), t("profile.password_confirm"),
                                 PasswordPanel.errors,
                                 PasswordPanel.password_attempt),
            submit_button(t("profile.password_save"), t("profile.password_saving"), icon="check",
                          variant="blue", busy_flag=PasswordPanel.password_busy),
            _saved(PasswordPanel.password_saved),
            on_submit=PasswordPanel.change_password,
            narrow=True,
        ),
    )



# The letters a person may choose, with their labels and hints.
NOTICE_CHOICES = (
    ("new_document", "profile.notify_new_document", "profile.notify_new_document_hint"),
    ("window_opens", "profile.notify_window_opens", "profile.notify_window_opens_hint"),
    ("window_closing", "profile.notify_window_closing", "profile.notify_window_closing_hint"),
    ("debt", "profile.notify_debt", "profile.notify_debt_hint"),
)


def _notice_box(kind: str, title: str, hint: str) -> rx.Component:
    """One kind of letter: its tick (stored as soon as it changes), name and hint."""
    p = NotificationsPanel
    box_id = "notify-" + kind.replace("_", "-")
    return rx.el.label(
        # Ticked at once in the browser; drawn again from the stored choice.
        rx.el.input(type="checkbox", id=box_id, default_checked=p.notify[kind],
                    key=kind + rx.cond(p.notify[kind], "1", "0"),
                    on_change=lambda ticked: NotificationsPanel.set_notification(kind, ticked),
                    disabled=p.notify_busy, aria_describedby=box_id + "-hint"),
        rx.el.span(rx.el.span(t(title), class_name="check-title"),
                   rx.el.span(t(hint), id=box_id + "-hint", class_name="cell-note")),
        class_name="check-row notify-row",
    )


def _notifications_form() -> rx.Component:
    p = NotificationsPanel
    return panel(
        t("profile.notify_section"), "notify-title",
        rx.el.p(t("profile.notify_note"), class_name="panel-note"),
        rx.el.fieldset(
            rx.el.legend(t("profile.notify_legend"), class_name="sr-only"),
            *[_notice_box(kind, title, hint) for kind, title, hint in NOTICE_CHOICES],
            class_name="notify-set",
            aria_busy=rx.cond(p.notify_busy, "true", "false"),
        ),
        _saved(p.notify_saved),
        id="notifications",
    )


def _session_row(item: SessionItem) -> rx.Component:
    return rx.el.tr(
        cell(
            t("sessions.device"),
            rx.el.span(item.device, class_name="device"),
            rx.cond(item.current,
                    rx.el.span(t("sessions.current"), class_name="badge badge-ok"),
                    rx.fragment()),
        ),
        cell(t("sessions.ip"), item.ip, class_name="nowrap"),
        cell(t("sessions.started"), item.started),
        cell(t("sessions.last_active"), item.last_active),
        cell(
            t("sessions.actions"),
            rx.cond(
                item.current,
                rx.fragment(),
                rx.el.button(
                    rx.icon("x", size=16, aria_hidden="true"),
                    rx.el.span(t("sessions.end")),
                    type="button",
                    class_name="btn-small",
                    on_click=SessionsPanel.end_session(item.id),
                    disabled=SessionsPanel.sessions_busy,
                    aria_label=t("sessions.end") + ": " + item.device + ", " + item.ip,
                    # The row goes away with the button: /lkk.js moves the focus to what was done.
                    data_focus_return="sessions-message",
                ),
            ),
            class_name="cell-action",
        ),
        class_name=rx.cond(item.current, "row-current", ""),
        data_testid="session-row",
    )


def _sessions_panel() -> rx.Component:
    return panel(
        t("sessions.title"), "sessions-title",
        rx.el.p(t("sessions.note"), class_name="panel-note"),
        data_table(t("sessions.caption"),
                   [t("sessions.device"), t("sessions.ip"), t("sessions.started"), t("sessions.last_active"),
                    rx.el.span(t("sessions.actions"), class_name="sr-only")],
                   ProfileState.sessions, _session_row, "sessions"),
        rx.el.p(SessionsPanel.sessions_message, class_name="saved", role="status",
                aria_live="polite", data_testid="sessions-message", id="sessions-message", tab_index=-1),
        rx.cond(
            ProfileState.other_sessions > 0,
            rx.cond(
                SessionsPanel.confirm_end_all,
                confirm_box("end-all-question", (t("sessions.confirm_all"),),
                            yes=t("sessions.confirm_yes"), busy_label=t("sessions.ending"),
                            busy_flag=SessionsPanel.sessions_busy, on_yes=SessionsPanel.end_all_other,
                            cancel=t("sessions.cancel"), on_cancel=SessionsPanel.cancel_end_all,
                            done_focus="sessions-message"),
                confirm_opener("end-all-question", rx.icon("log-out", size=18, aria_hidden="true"),
                               rx.el.span(t("sessions.end_all")),
                               on_click=SessionsPanel.ask_end_all, disabled=SessionsPanel.sessions_busy),
            ),
            rx.el.p(t("sessions.only_this"), class_name="panel-note"),
        ),
        id="sessions",
    )


def _journal_row(item: JournalItem) -> rx.Component:
    return rx.el.tr(
        cell(t("journal.time"), item.time),
        cell(
            t("journal.event"),
            rx.el.span(item.event, class_name="event-name"),
            rx.cond(item.detail != "", rx.el.span(item.detail, class_name="event-detail"),
                    rx.fragment()),
        ),
        cell(t("journal.ip"), item.ip, class_name="nowrap"),
        cell(
            t("journal.result"),
            rx.el.span(item.result, class_name=rx.cond(item.ok, "result result-ok", "result result-refused")),
        ),
        data_testid="journal-row",
    )


def _journal_panel() -> rx.Component:
    return panel(
        t("journal.title"), "journal-title",
        rx.el.p(t("journal.note"), class_name="panel-note"),
        rx.cond(
            ProfileState.journal.length() > 0,
            data_table(t("journal.caption"),
                       [t("journal.time"), t("journal.event"), t("journal.ip"), t("journal.result")],
                       ProfileState.journal, _journal_row, "journal"),
            rx.el.p(t("journal.empty"), class_name="panel-note"),
        ),
        id="journal",
    )


def profile_page() -> rx.Component:
    return cabinet_frame(
        routes.PROFILE,
        ProfileState.loaded,
        rx.el.section(
            rx.el.h1(t("profile.title"), class_name="section-title", id="profile-title"),
            rx.el.dl(
                fact(t("profile.login"), ProfileState.login, "profile-login"),
                fact(
                    t("profile.email"),
                    rx.el.span(
                        ProfileState.email,
                        " ",
                        rx.cond(
                            ProfileState.email_confirmed,
                            rx.el.span(t("profile.email_confirmed"), class_name="badge badge-ok"),
                            rx.el.span(t("profile.email_not_confirmed"), class_name="badge badge-warn"),
                        ),
                    ),
                    "profile-email",
                ),
                fact(t("profile.phone"), ProfileState.phone, "profile-phone"),
                fact(t("profile.created"), ProfileState.created, "profile-created"),
                fact(t("profile.last_login"), ProfileState.last_login, "profile-last-login"),
                class_name="profile-list",
            ),
            class_name="panel",
            aria_labelledby="profile-title",
        ),
        rx.el.div(_phone_form(), _password_form(), class_name="panel-grid"),
        _notifications_form(),
        _sessions_panel(),
        _journal_panel(),
    )
