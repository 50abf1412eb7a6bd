"""«Страница не найдена»: the page of an address the cabinet does not have
(Reflex's 404), with the way back to the login window."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.layout import auth_card, icon_link
from lkk_app.i18n import t


def not_found_page() -> rx.Component:
    return auth_card(
        t("notfound.title"),
        rx.el.p(t("notfound.text")),
        rx.el.nav(icon_link(t("notfound.to_login"), routes.LOGIN, "log-in"), class_name="card-links"),
    )
