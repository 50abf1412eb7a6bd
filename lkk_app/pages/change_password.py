"""«Смена пароля»: the user's own password after a login with a temporary one."""

import reflex as rx

from lkk_app.components.fields import new_password_fields
from lkk_app.components.layout import auth_card, event_form, logout_form, submit_button
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
        event_form(
            # For password managers: which account the new password belongs to.
            rx.el.input(type="text", name="username", value=ChangePasswordState.login,
                        auto_complete="username", read_only=True, hidden=True,
                        aria_hidden="true", tab_index=-1),
            *new_password_fields("password", t("change.password"), t("change.password_confirm"),
                                 ChangePasswordState.errors,
                                 ChangePasswordState.attempt, auto_focus=True),
            submit_button(t("change.submit"), t("change.submitting"), icon="check",
                          busy_flag=ChangePasswordState.submitting),
            on_submit=ChangePasswordState.submit,
        ),
    )


def change_password_page() -> rx.Component:
    return auth_card(
        t("change.title"),
        rx.cond(
            ChangePasswordState.loaded,
            _form(),
            rx.el.p(t("common.loading"), class_name="loading", role="status"),
        ),
        rx.el.nav(logout_form(t("change.logout")), class_name="card-links"),
    )
