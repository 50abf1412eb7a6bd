"""The cabinet frame: header, tabs, the full-guide «?», «Выйти»."""

from __future__ import annotations

import reflex as rx

from lkk_app import routes
from lkk_app.components.layout import help_link, logout_form
from lkk_app.i18n import t
from lkk_app.state.errors import error_banner


def cabinet_frame(active: str, loaded: rx.Var, *content: rx.Component) -> rx.Component:
    """The frame of a cabinet page; ``active`` is its path (``routes.TABS``)."""
    return rx.el.div(
        rx.el.header(
            rx.el.div(
                rx.el.span(t("app.title"), class_name="brand"),
                rx.el.div(
                    rx.el.a(
                        rx.icon("headset", size=16, aria_hidden="true"),
                        rx.el.span(t("support.link")),
                        href=routes.SUPPORT,
                        class_name="icon-link",
                    ),
                    help_link(routes.USER_GUIDE, t("cabinet.help"), t("guide.user_file")),
                    logout_form(t("cabinet.logout")),
                    class_name="header-actions",
                ),
                class_name="header-inner",
            ),
            rx.el.nav(
                *[
                    rx.el.a(
                        t(tab.label_key),
                        href=tab.path,
                        class_name="tab" + (" tab-active" if tab.path == active else ""),
                        aria_current="page" if tab.path == active else None,
                    )
                    for tab in routes.TABS
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
