"""Page frames: the centred card of the login/registration windows and the cabinet."""

from __future__ import annotations

import reflex as rx

from lkk_app import routes
from lkk_app.i18n import t
from lkk_app.state.errors import error_banner


def help_link(href: str, label: str, filename: str) -> rx.Component:
    """The blue «?» in the top-right corner that downloads a guide."""
    return rx.el.a(
        "?",
        href=href,
        download=filename,
        class_name="help-link",
        aria_label=label,
        title=label,
        # A plain download, not a client-side route change.
        custom_attrs={"reloadDocument": True},
    )


def auth_card(title: str, *children: rx.Component, help_href: str = routes.REGISTRATION_GUIDE,
              help_label: str | None = None) -> rx.Component:
    return rx.el.main(
        error_banner(),
        rx.el.section(
            rx.el.div(
                rx.el.h1(title, class_name="card-title", id="card-title"),
                help_link(help_href, help_label or t("login.help"), t("guide.registration_file")),
                class_name="card-head",
            ),
            *children,
            class_name="card",
            aria_labelledby="card-title",
        ),
        rx.el.p(t("app.full_title"), class_name="page-foot"),
        class_name="auth-page",
    )


def submit_button(label: str, busy_label: str, icon: str = "arrow-right",
                  variant: str = "green", **props) -> rx.Component:
    return rx.el.button(
        rx.el.span(label, class_name="btn-label"),
        rx.el.span(busy_label, class_name="btn-busy-label"),
        rx.icon(icon, size=18, aria_hidden="true", class_name="btn-icon"),
        rx.el.span(class_name="spinner", aria_hidden="true"),
        type="submit",
        class_name=f"btn btn-{variant}",
        **props,
    )


def icon_link(label: str, href: str, icon: str) -> rx.Component:
    return rx.el.a(
        rx.icon(icon, size=16, aria_hidden="true"),
        rx.el.span(label),
        href=href,
        class_name="icon-link",
    )
