"""«Смена пароля»: the user's own password after a login with a temporary one."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.fields import strength_hint, text_field
from lkk_app.components.layout import auth_card, submit_button
from lkk_app.components.native_form import native_form
from lkk_app.i18n import t
from lkk_app.state.change_password import ChangePasswordState


def _form() -> rx.Component:
    return rx.fragment(
        rx.el.p(t("change.intro"), class_name="notice"),
        rx.el.div(
            rx.cond(ChangePasswordState.form_error != "",
                    rx.el.p(ChangePasswordState.form_error, class_name="form-error")),
            role="alert",
        ),
        rx.el.form(
            # For password managers: which account the new password belongs to.
            rx.el.input(type="text", name="username", value=ChangePasswordState.login,
                        auto_complete="username", read_only=True, hidden=True,
                        aria_hidden="true", tab_index=-1),
            text_field("password", t("change.password"), "lock", input_type="password",
                       autocomplete="new-password", error=ChangePasswordState.err_password,
                       hint=t("register.password_hint"), max_length=256, auto_focus=True),
            # Remounted (empty) when a failed attempt clears the fields.
            rx.fragment(strength_hint("password"), key=ChangePasswordState.attempt),
            text_field("password_confirm", t("change.password_confirm"), "lock",
                       input_type="password", autocomplete="new-password",
                       error=ChangePasswordState.err_password_confirm, max_length=256),
            submit_button(t("change.submit"), t("change.submitting"), icon="check",
                          aria_busy=rx.cond(ChangePasswordState.submitting, "true", "false"),
                          disabled=ChangePasswordState.submitting),
            on_submit=ChangePasswordState.submit,
            class_name="form",
            no_validate=True,
        ),
    )


def _logout() -> rx.Component:
    return native_form(
        rx.el.button(
            rx.icon("log-out", size=16, aria_hidden="true"),
            rx.el.span(t("change.logout")),
            type="submit",
            class_name="btn-link",
        ),
        action=routes.AUTH_LOGOUT,
        method="post",
        data_native="1",
    )


def change_password_page() -> rx.Component:
    return auth_card(
        t("change.title"),
        rx.cond(
            ChangePasswordState.loaded,
            _form(),
            rx.el.p(t("common.loading"), class_name="loading", role="status"),
        ),
        rx.el.nav(_logout(), class_name="card-links"),
    )
