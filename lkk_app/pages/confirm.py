"""«Ссылка не действует»: a clear page for a used, expired or unknown link."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.layout import auth_card, icon_link
from lkk_app.i18n import t
from lkk_app.state.confirm import ConfirmFailedState


def confirm_failed_page() -> rx.Component:
    return auth_card(
        t("confirm.bad_title"),
        rx.el.p(ConfirmFailedState.reason_text, class_name="form-error", role="alert"),
        rx.el.p(t("confirm.how_to_get_new")),
        rx.el.nav(icon_link(t("register.to_login"), routes.LOGIN, "log-in"), class_name="card-links"),
    )
