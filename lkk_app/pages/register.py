"""«Регистрация пользователя» (manual 2.2, figure 2)."""

import reflex as rx

from lkk_app.components.fields import strength_hint, text_field
from lkk_app.components.layout import auth_card, icon_link, submit_button
from lkk_app.i18n import t
from lkk_app.state.register import RegisterState


def _captcha() -> rx.Component:
    return rx.el.div(
        rx.el.label(t("register.code"), html_for="code", class_name="field-label"),
        rx.el.div(
            rx.el.div(
                rx.icon("key-round", class_name="field-icon", aria_hidden="true", size=18),
                rx.el.input(
                    id="code", name="code", type="text", input_mode="numeric",
                    auto_complete="off", max_length=16, class_name="field-input",
                    aria_describedby="code-hint code-error",
                    aria_invalid=rx.cond(RegisterState.err_code != "", "true", "false"),
                ),
                class_name="field-control captcha-input",
            ),
            rx.cond(
                RegisterState.captcha_src != "",
                rx.el.img(src=RegisterState.captcha_src, alt=t("register.code_image"),
                          width="220", height="70", class_name="captcha-img", id="captcha-img"),
                rx.el.div(class_name="captcha-img captcha-placeholder"),
            ),
            rx.el.button(
                rx.icon("refresh-cw", size=18, aria_hidden="true"),
                type="button",
                on_click=RegisterState.refresh_captcha,
                class_name="icon-btn",
                aria_label=t("register.code_refresh"),
                title=t("register.code_refresh"),
            ),
            class_name="captcha-row",
        ),
        rx.el.p(t("register.code_hint"), id="code-hint", class_name="field-hint"),
        rx.el.p(RegisterState.err_code, id="code-error", class_name="field-error", role="alert"),
        class_name="field",
    )


def _form() -> rx.Component:
    return rx.el.form(
        rx.cond(RegisterState.form_error != "",
                rx.el.p(RegisterState.form_error, class_name="form-error", role="alert")),
        text_field("login", t("register.login"), "user", autocomplete="username",
                   error=RegisterState.err_login, hint=t("register.login_hint"), max_length=64,
                   auto_focus=True),
        text_field("email", t("register.email"), "mail", input_type="email",
                   placeholder="user@example.com", autocomplete="email",
                   error=RegisterState.err_email, max_length=254),
        text_field("phone", t("register.phone"), "phone", input_type="tel",
                   autocomplete="tel", error=RegisterState.err_phone,
                   hint=t("register.phone_hint"), max_length=32, required=False),
        text_field("password", t("register.password"), "lock", input_type="password",
                   autocomplete="new-password", error=RegisterState.err_password,
                   hint=t("register.password_hint"), max_length=256),
        strength_hint("password"),
        text_field("password_confirm", t("register.password_confirm"), "lock",
                   input_type="password", autocomplete="new-password",
                   error=RegisterState.err_password_confirm, max_length=256),
        _captcha(),
        submit_button(t("register.submit"), t("register.submitting"), variant="blue",
                      aria_busy=rx.cond(RegisterState.submitting, "true", "false"),
                      disabled=RegisterState.submitting),
        on_submit=RegisterState.submit,
        class_name="form",
        no_validate=True,
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
        rx.el.nav(icon_link(t("register.to_login"), "/", "log-in"), class_name="card-links"),
    )
