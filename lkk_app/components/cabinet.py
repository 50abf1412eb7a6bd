"""The cabinet frame: header, tabs, the full-guide «?», «Выйти»."""

from __future__ import annotations

from typing import Any

import reflex as rx

from lkk_app import routes
from lkk_app.components.layout import as_of_line, help_link, logout_form, supplier_brand
from lkk_app.i18n import t
from lkk_app.state.errors import error_banner


def contract_switcher(choices: rx.Var, value: rx.Var, on_change) -> rx.Component:
    """«Договор»: the contract a tab shows, chosen among the organisation's
    (only when there are several; the page names the one it shows)."""
    return rx.cond(
        choices.length() > 1,
        rx.el.div(
            rx.el.label(t("cabinet.contract"), html_for="contract-switch", class_name="switch-label"),
            rx.el.select(
                rx.foreach(choices, lambda c: rx.el.option(c.number, value=c.key)),
                id="contract-switch", value=value, on_change=on_change, class_name="switch-select",
            ),
            class_name="contract-switch",
        ),
        rx.fragment(),
    )


def cabinet_frame(active: str, loaded: rx.Var, *content: rx.Component,
                  switcher: rx.Component | None = None) -> rx.Component:
    """The frame of a cabinet page; ``active`` is its path (``routes.TABS``, or
    ``routes.SUPPORT``);
    ``switcher``: the contract switcher of a tab that shows one contract."""
    return rx.el.div(
        rx.el.header(
            rx.el.div(
                supplier_brand(compact=True),
                rx.el.div(
                    rx.el.a(
                        rx.icon("headset", size=16, aria_hidden="true"),
                        rx.el.span(t("support.link")),
                        # «Служба поддержки» links back to the tab it was opened from.
                        href=routes.SUPPORT if active == routes.SUPPORT else routes.with_query(
                            routes.SUPPORT, back=active),
                        class_name="icon-link",
                        aria_current="page" if active == routes.SUPPORT else None,
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
            rx.el.div(switcher, class_name="switch-row") if switcher is not None else rx.fragment(),
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


def contract_tab(active: str, state: Any, title: str, *content: rx.Component,
                 notice: rx.Component | None = None) -> rx.Component:
    """A tab that shows one of the organisation's contracts (``state``: a
    ``CabinetState``): the frame with the switcher, the title, an optional notice,
    then ``content`` — or, with no contract bound yet, the way to «Договоры»."""
    return cabinet_frame(
        active,
        state.loaded,
        rx.el.h1(title, class_name="section-title"),
        notice if notice is not None else rx.fragment(),
        rx.cond(
            state.choices.length() == 0,
            rx.el.div(
                rx.el.p(t("points.no_contracts"), class_name="empty-title"),
                rx.el.a(t("points.to_contracts"), href=routes.CONTRACTS),
                class_name="panel empty-state", data_testid="no-contracts",
            ),
            rx.fragment(*content),
        ),
        switcher=contract_switcher(state.choices, state.contract_key, state.choose_contract),
    )


def contract_panel_head(title: str, state: Any, title_id: str) -> rx.Component:
    """The head of a tab's panel about the chosen contract: «<title> Д-1001»,
    «Данные на …», and the notice that billing is unreachable (``state``: a
    ``CabinetState`` with ``contract_number``)."""
    return rx.fragment(
        rx.el.div(
            rx.el.h2(title, " ", state.contract_number, class_name="panel-title", id=title_id),
            as_of_line(state.as_of),
            class_name="panel-head",
        ),
        rx.cond(state.billing_down,
                rx.el.p(t("contracts.billing_down"), class_name="notice notice-warn", role="status"),
                rx.fragment()),
    )
