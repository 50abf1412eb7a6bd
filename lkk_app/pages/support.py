"""«Служба поддержки пользователей» (manual section 3): in the login window's
card, or — for someone logged in — in the cabinet's frame."""

import reflex as rx

from lkk_app import routes
from lkk_app.components.cabinet import cabinet_frame
from lkk_app.components.layout import auth_card, icon_link
from lkk_app.i18n import t
from lkk_app.state.support import SupportState


def _phone(index: rx.Var) -> rx.Component:
    return rx.el.dd(rx.el.a(SupportState.phones[index], href=SupportState.phone_links[index]),
                    data_testid="support-phone")


def _desk() -> rx.Component:
    return rx.fragment(
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
    )


def _in_cabinet() -> rx.Component:
    return cabinet_frame(
        routes.SUPPORT,
        SupportState.checked,
        rx.el.h1(t("support.title"), class_name="section-title", id="support-title"),
        rx.el.section(
            _desk(),
            rx.el.nav(
                rx.el.a(rx.icon("arrow-left", size=16, aria_hidden="true"), rx.el.span(t("support.back_cabinet")),
                        href=SupportState.back_path, class_name="icon-link"),
                class_name="card-links",
            ),
            class_name="panel",
            aria_labelledby="support-title",
        ),
    )


def support_page() -> rx.Component:
    # Nothing until it is known whether someone is logged in (no flash of the wrong frame).
    return rx.cond(
        SupportState.checked,
        rx.cond(
            SupportState.signed_in,
            _in_cabinet(),
            auth_card(
                t("support.title"),
                _desk(),
                rx.el.nav(icon_link(t("support.back_login"), routes.LOGIN, "log-in"), class_name="card-links"),
            ),
        ),
        rx.el.p(t("common.loading"), class_name="loading", role="status"),
    )
