"""«Регистрация пользователя» (manual 2.2, figure 2)."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.captcha import captcha_field
from lkk_app.components.fields import new_password_fields, text_field
from lkk_app.components.layout import auth_card, event_form, icon_link, submit_button
from lkk_app.i18n import t
from lkk_app.state.register import RegisterState


def _captcha() -> rx.Component:
    return captcha_field(src=RegisterState.captcha_src, audio=RegisterState.captcha_audio,
                         error=RegisterState.errors.get("code", ""),
                         on_refresh=RegisterState.refresh_captcha)


def _form() -> rx.Component:
    return event_form(
        rx.cond(RegisterState.form_error != "",
                rx.el.p(RegisterState.form_error, class_name="form-error", role="alert")),
        text_field("login", t("register.login"), "user", autocomplete="username",
                   error=RegisterState.errors.get("login", ""), hint=t("register.login_hint"), max_length=64,
                   auto_focus=True),
        text_field("email", t("register.email"), "mail", input_type="email",
                   placeholder="user@example.com", autocomplete="email",
                   error=RegisterState.errors.get("email", ""), max_length=254),
        text_field("phone", t("register.phone"), "phone", input_type="tel",
                   autocomplete="tel", error=RegisterState.errors.get("phone", ""),
                   hint=t("register.phone_hint"), max_length=32, required=False),
        *new_password_fields("password", t("register.password"), t("register.password_confirm"),
                             RegisterState.errors,
                             RegisterState.attempt),
        _captcha(),
        submit_button(t("register.submit"), t("register.submitting"), variant="blue",
                      busy_flag=RegisterState.submitting),
        on_submit=RegisterState.submit,
    )


def _done() -> rx.Component:
    return rx.el.div(
        rx.el.h2(t("register.done_title"), class_name="done-title"),
        rx.el.p(t("register.done_sent_to"), " ", rx.el.strong(RegisterState.done_email, id="done-email"),
                class_name="notice"),
        rx.el.p(t("register.done_text")),
        rx.el.p(t("register.done_help"), class_name="field-hint"),
        role="status",
        class_name="done",
    )


def register_page() -> rx.Component:
    return auth_card(
        t("register.title"),
        rx.cond(RegisterState.done_email != "", _done(), _form()),
        rx.el.nav(icon_link(t("register.to_login"), routes.LOGIN, "log-in"), class_name="card-links"),
    )
