"""«Забыли пароль?» — восстановление пароля (manual 2.4, figure 4)."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.fields import text_field
from lkk_app.components.layout import event_form, icon_link, submit_button, supplier_brand
from lkk_app.i18n import t
from lkk_app.state.forgot import ForgotState


def _help() -> rx.Component:
    """The blue «?» of figure 4: a disclosure with a short explanation.
    <details>/<summary> gives keyboard use and the expanded state to screen
    readers without any script; the «?» sits in the card's corner (CSS), the
    text opens under the heading."""
    return rx.el.details(
        rx.el.summary(
            rx.el.span("?", aria_hidden="true"),
            rx.el.span(t("forgot.help_label"), class_name="sr-only"),
            class_name="help-link",
            title=t("forgot.help_label"),
        ),
        rx.el.p(t("forgot.help"), id="forgot-help", class_name="notice"),
        class_name="help-tip",
    )


def _card(*children: rx.Component) -> rx.Component:
    # The frame of layout.auth_card, with the explaining «?» in place of the
    # guide download: figure 4 has one «?», and here it answers "what to enter".
    return rx.el.main(
        supplier_brand(),
        rx.el.section(
            rx.el.div(
                rx.el.h1(t("forgot.title"), class_name="card-title", id="card-title"),
                class_name="card-head card-head-tip",
            ),
            _help(),
            *children,
            class_name="card",
            aria_labelledby="card-title",
        ),
        class_name="auth-page",
    )


def _form() -> rx.Component:
    return event_form(
        text_field("login", t("forgot.login"), "user", autocomplete="username",
                   error=ForgotState.errors.get("login", ""), max_length=64, auto_focus=True),
        text_field("email", t("forgot.email"), "mail", input_type="email",
                   placeholder="user@example.com", autocomplete="email",
                   error=ForgotState.errors.get("email", ""), max_length=254),
        submit_button(t("forgot.submit"), t("forgot.submitting"), variant="blue",
                      busy_flag=ForgotState.submitting),
        on_submit=ForgotState.submit,
    )


def _done() -> rx.Component:
    # One text for every outcome: matched, not matched, unknown login,
    # unconfirmed account, over the limit.
    return rx.el.div(
        rx.el.p(t("forgot.done"), id="forgot-done", class_name="notice"),
        rx.el.p(t("forgot.done_hint"), class_name="field-hint"),
        role="status",
        class_name="done",
    )


def forgot_page() -> rx.Component:
    return _card(
        rx.cond(ForgotState.done, _done(), _form()),
        rx.el.nav(icon_link(t("forgot.to_login"), routes.LOGIN, "log-in"), class_name="card-links"),
    )
