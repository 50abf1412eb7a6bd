"""Окно входа в систему (manual 2.1, figure 1)."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.captcha import captcha_field
from lkk_app.components.fields import text_field
from lkk_app.components.layout import auth_card, icon_link, submit_button
from lkk_app.components.native_form import native_form
from lkk_app.i18n import t
from lkk_app.state.login import LoginState


def _unconfirmed_notice() -> rx.Component:
    return rx.el.div(
        rx.el.p(t("login.unconfirmed")),
        native_form(
            submit_button(t("login.resend"), t("login.resending"), icon="mail", variant="blue"),
            action=routes.server_address(routes.AUTH_RESEND),
            method="post",
            data_native="1",
        ),
        class_name="notice unconfirmed",
        role="status",
    )


def _code_block() -> rx.Component:
    """«Код авторизации» after repeated failed logins (manual 2.2's block)."""
    return rx.el.div(
        rx.el.p(t("login.code_needed"), class_name="field-hint login-code-note"),
        captcha_field(src=LoginState.captcha_src, audio=LoginState.captcha_audio, error=LoginState.captcha_error,
                      on_refresh=LoginState.refresh_captcha,
                      challenge_id=LoginState.captcha_id, required=True),
        # Remounts (emptying the code) whenever a new challenge is drawn.
        key=LoginState.captcha_id,
        class_name="login-code",
    )


def _wait_line() -> rx.Component:
    """«Повторите попытку через N с (после 14:05:33)»: /lkk.js counts the seconds
    down in a line of its own (hidden from screen readers, which hear the
    server's words once) and, at zero, says that one may try again."""
    return rx.el.p(
        rx.el.span(LoginState.wait_message, class_name="wait-text"),
        rx.el.span(class_name="wait-tick", aria_hidden="true", data_lkk_countdown=LoginState.wait_left,
                   data_template=t("login.throttled_in"), data_min_sec=t("login.wait_min_sec"),
                   data_sec=t("login.wait_sec"), data_done=t("login.wait_over")),
        rx.el.span(class_name="wait-clock", data_lkk_until=LoginState.wait_until,
                   data_prefix=t("login.throttled_clock")),
        rx.el.span(class_name="sr-only wait-said"),
        class_name="form-error login-wait", id="login-wait",
    )


def _demo_access() -> rx.Component:
    """«Демо-доступ» (LKK_DEMO=1): the ready account, and what a visitor can try."""
    return rx.cond(
        LoginState.demo_login != "",
        rx.el.section(
            rx.el.h2(t("demo.title"), class_name="demo-title", id="demo-title"),
            rx.el.p(t("demo.text")),
            rx.el.dl(
                rx.el.div(rx.el.dt(t("login.username")), rx.el.dd(rx.el.code(LoginState.demo_login)),
                          class_name="profile-row"),
                rx.el.div(rx.el.dt(t("login.password")), rx.el.dd(rx.el.code(LoginState.demo_password)),
                          class_name="profile-row"),
                class_name="profile-list",
            ),
            rx.el.p(t("demo.try"), class_name="field-hint"),
            rx.cond(LoginState.demo_mailbox != "",
                    rx.el.p(icon_link(LoginState.demo_mailbox_label, LoginState.demo_mailbox, "mail",
                                      server_route=True)),
                    rx.fragment()),
            class_name="notice demo-access",
            aria_labelledby="demo-title",
            data_testid="demo-access",
        ),
    )


def login_page() -> rx.Component:
    return auth_card(
        t("login.title"),
        _demo_access(),
        rx.cond(LoginState.notice != "", rx.el.p(LoginState.notice, class_name="notice", role="status")),
        rx.el.div(
            rx.cond(LoginState.error != "", rx.el.p(LoginState.error, class_name="form-error")),
            rx.cond(LoginState.wait_message != "", _wait_line()),
            id="login-form-error",
            role="alert",
            aria_live="assertive",
        ),
        rx.cond(LoginState.unconfirmed, _unconfirmed_notice()),
        native_form(
            text_field(
                "login", t("login.username"), "user",
                autocomplete="username", empty_message=t("login.empty_username"),
                error=LoginState.errors.get("login", ""), max_length=64, auto_focus=True,
                # After a failed attempt /lkk.js puts the login typed (from its
                # cookie, via the state) back into the field, never remounting
                # what the user types.
                data_prefill=LoginState.login_prefill,
                # … and then the password field takes the focus.
                data_prefill_next="password",
            ),
            text_field(
                "password", t("login.password"), "lock", input_type="password",
                autocomplete="current-password", error=LoginState.errors.get("password", ""),
                max_length=1024, empty_message=t("login.empty_password"),
            ),
            rx.cond(LoginState.needs_code, _code_block()),
            rx.el.input(type="hidden", name="next", value=LoginState.next_path),
            submit_button(t("login.submit"), t("login.submitting")),
            action=routes.server_address(routes.AUTH_LOGIN),
            method="post",
            no_validate=True,
            accept_charset="utf-8",
            data_native="1",
            class_name="form",
            aria_describedby="login-form-error",
        ),
        rx.el.nav(
            icon_link(t("login.register"), routes.REGISTER, "pencil"),
            icon_link(t("login.forgot"), routes.FORGOT, "key-round"),
            icon_link(t("support.link"), routes.SUPPORT, "headset"),
            class_name="card-links",
        ),
    )
