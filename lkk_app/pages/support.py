"""«Служба поддержки пользователей» (manual section 3)."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.layout import auth_card, icon_link
from lkk_app.i18n import t
from lkk_app.state.support import SupportState


def _phone(index: rx.Var) -> rx.Component:
    return rx.el.dd(rx.el.a(SupportState.phones[index], href=SupportState.phone_links[index]),
                    data_testid="support-phone")


def support_page() -> rx.Component:
    return auth_card(
        t("support.title"),
        rx.el.p(t("support.intro")),
        rx.el.dl(
            rx.el.dt(t("support.supplier")),
            rx.el.dd(SupportState.supplier_name, data_testid="support-supplier"),
            rx.el.dt(t("support.phones")),
            rx.foreach(rx.Var.range(SupportState.phones.length()), _phone),
            rx.el.dt(t("support.hours")),
            rx.el.dd(SupportState.hours, data_testid="support-hours"),
            rx.el.dt(t("support.address")),
            rx.el.dd(SupportState.address, data_testid="support-address"),
            rx.el.dt(t("support.email")),
            rx.el.dd(rx.el.a(SupportState.email, href="mailto:" + SupportState.email)),
            class_name="support-list",
        ),
        rx.el.nav(icon_link(t("support.back_login"), routes.LOGIN, "log-in"), class_name="card-links"),
    )
