"""Закладка «Профиль» (manual figure 3)."""

import reflex as rx

from lkk_app.components.cabinet import cabinet_frame
from lkk_app.i18n import t
from lkk_app.state.profile import ProfileState


def _row(label: str, value: rx.Component | rx.Var, test_id: str) -> rx.Component:
    return rx.el.div(
        rx.el.dt(label),
        rx.el.dd(value, data_testid=test_id),
        class_name="profile-row",
    )


def profile_page() -> rx.Component:
    return cabinet_frame(
        "profile",
        ProfileState.loaded,
        rx.el.section(
            rx.el.h1(t("profile.title"), class_name="section-title"),
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
    )
