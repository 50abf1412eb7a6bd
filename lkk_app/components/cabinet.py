"""The cabinet frame: header, tabs, the full-guide «?», «Выйти»."""

from __future__ import annotations

import reflex as rx

from lkk_app.components.layout import USER_GUIDE, help_link
from lkk_app.components.native_form import native_form
from lkk_app.i18n import t
from lkk_app.state.errors import error_banner

TABS = [("profile", "cabinet.tab.profile", "/profile")]


def cabinet_frame(active: str, loaded: rx.Var, *content: rx.Component) -> rx.Component:
    return rx.el.div(
        rx.el.header(
            rx.el.div(
                rx.el.span(t("app.title"), class_name="brand"),
                rx.el.div(
                    rx.el.a(
                        rx.icon("headset", size=16, aria_hidden="true"),
                        rx.el.span(t("support.link")),
                        href="/support",
                        class_name="icon-link",
                    ),
                    help_link(USER_GUIDE, t("cabinet.help"), t("guide.user_file")),
                    native_form(
                        rx.el.button(
                            rx.icon("log-out", size=16, aria_hidden="true"),
                            rx.el.span(t("cabinet.logout")),
                            type="submit",
                            class_name="btn-link",
                        ),
                        action="/auth/logout",
                        method="post",
                        data_native="1",
                    ),
                    class_name="header-actions",
                ),
                class_name="header-inner",
            ),
            rx.el.nav(
                *[
                    rx.el.a(
                        t(label),
                        href=href,
                        class_name="tab" + (" tab-active" if key == active else ""),
                        aria_current="page" if key == active else None,
                    )
                    for key, label, href in TABS
                ],
                class_name="tabs",
                aria_label=t("cabinet.tabs_label"),
            ),
            class_name="cabinet-header",
        ),
        rx.el.main(
            error_banner(),
            rx.cond(
                loaded,
                rx.fragment(*content),
                rx.el.p(t("common.loading"), class_name="loading", role="status"),
            ),
            class_name="cabinet-main",
        ),
        class_name="cabinet",
    )
