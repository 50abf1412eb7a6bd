"""«Нет связи с сервером»: a Russian notice while the page's websocket cannot
reach the server (instead of Reflex's English toast and its «Notifications
alt+T» region: the app has no toast provider, ``rx.App(toaster=None)``)."""

import reflex as rx
from reflex_components_core.core.banner import has_too_many_connection_errors

from lkk_app.i18n import t


def connection_notice() -> rx.Component:
    """Shown after the second failed attempt to reach the server in a row
    (one failure is an ordinary reconnect), gone as soon as it is back."""
    return rx.cond(
        has_too_many_connection_errors,
        rx.el.div(
            rx.icon("wifi-off", size=18, aria_hidden="true"),
            rx.el.span(t("connection.lost")),
            role="alert",
            class_name="connection-lost",
            data_testid="connection-lost",
        ),
    )
