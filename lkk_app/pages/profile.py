"""Закладка «Профиль» (manual figure 3)."""

import reflex as rx

from lkk_app.components.cabinet import cabinet_frame
from lkk_app.components.fields import strength_hint, text_field
from lkk_app.components.layout import submit_button
from lkk_app.i18n import t
from lkk_app.state.profile import ProfileState


def _row(label: str, value: rx.Component | rx.Var, test_id: str) -> rx.Component:
    return rx.el.div(
        rx.el.dt(label),
        rx.el.dd(value, data_testid=test_id),
        class_name="profile-row",
    )


def _saved(message: rx.Var) -> rx.Component:
    return rx.el.p(message, class_name="saved", role="status", aria_live="polite")


def _busy(flag: rx.Var) -> dict:
    return {"aria_busy": rx.cond(flag, "true", "false"), "disabled": flag}


def _phone_form() -> rx.Component:
    return rx.el.section(
        rx.el.h2(t("profile.phone_section"), class_name="panel-title", id="phone-title"),
        rx.el.form(
            text_field("phone", t("profile.phone"), "phone", input_type="tel", autocomplete="tel",
                       default_value=ProfileState.phone_value, error=ProfileState.phone_error,
                       hint=t("profile.phone_hint"), max_length=32, required=False,
                       key=ProfileState.phone_value),
            submit_button(t("profile.phone_save"), t("profile.phone_saving"), icon="check",
                          variant="blue", **_busy(ProfileState.phone_busy)),
            _saved(ProfileState.phone_saved),
            on_submit=ProfileState.save_phone,
            class_name="form form-narrow",
            no_validate=True,
        ),
        class_name="panel",
        aria_labelledby="phone-title",
    )


def _password_form() -> rx.Component:
    return rx.el.section(
        rx.el.h2(t("profile.password_section"), class_name="panel-title", id="password-title"),
        rx.el.form(
            text_field("current_password", t("profile.current_password"), "lock",
                       input_type="password", autocomplete="current-password",
                       error=ProfileState.current_password_error, max_length=256),
            text_field("new_password", t("profile.new_password"), "lock", input_type="password",
                       autocomplete="new-password", error=ProfileState.new_password_error,
                       hint=t("register.password_hint"), max_length=256),
            strength_hint("new_password"),
            text_field("password_confirm", t("profile.password_confirm"), "lock",
                       input_type="password", autocomplete="new-password",
                       error=ProfileState.password_confirm_error, max_length=256),
            submit_button(t("profile.password_save"), t("profile.password_saving"), icon="check",
                          variant="blue", **_busy(ProfileState.password_busy)),
            _saved(ProfileState.password_saved),
            on_submit=ProfileState.change_password,
            class_name="form form-narrow",
            no_validate=True,
        ),
        class_name="panel",
        aria_labelledby="password-title",
    )


def profile_page() -> rx.Component:
    return cabinet_frame(
        "profile",
        ProfileState.loaded,
        rx.el.section(
            rx.el.h1(t("profile.title"), class_name="section-title", id="profile-title"),
            rx.el.dl(
                _row(t("profile.login"), ProfileState.login, "profile-login"),
                _row(
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
                _row(t("profile.phone"), ProfileState.phone, "profile-phone"),
                _row(t("profile.created"), ProfileState.created, "profile-created"),
                _row(t("profile.last_login"), ProfileState.last_login, "profile-last-login"),
                class_name="profile-list",
            ),
            class_name="panel",
            aria_labelledby="profile-title",
        ),
        rx.el.div(_phone_form(), _password_form(), class_name="panel-grid"),
    )
