"""Page frames: the centred card of the login/registration windows and the cabinet."""

from __future__ import annotations

from typing import Any

import reflex as rx

from lkk_app import routes
from lkk_app.components.native_form import native_form
from lkk_app.i18n import t
from lkk_app.settings import get_settings
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


def supplier_colors() -> str:
    """The supplier's two colours as CSS variables (``LKK_SUPPLIER_COLOR_*``,
    checked at start as CSS colours), for a ``<style>`` in every page's head;
    ``html:root`` outweighs ``:root`` of the stylesheet, which holds the defaults."""
    return get_settings().supplier_css


def supplier_brand(*, compact: bool = False) -> rx.Component:
    """The supplier's logo and name (``LKK_SUPPLIER_LOGO``, ``LKK_SUPPLIER_NAME``);
    ``compact``: the cabinet header's size."""
    return rx.el.div(
        rx.el.img(src=routes.supplier_logo_address(), alt="", class_name="supplier-logo",
                  width=40, height=40),
        rx.el.div(
            rx.el.span(get_settings().supplier_name, class_name="supplier-name", data_testid="supplier-name"),
            rx.el.span(t("app.title") if compact else t("app.full_title"), class_name="supplier-app"),
            class_name="supplier-text",
        ),
        class_name="supplier-brand supplier-brand-compact" if compact else "supplier-brand",
    )


def auth_card(title: str, *children: rx.Component, help_href: str = routes.REGISTRATION_GUIDE,
              help_label: str | None = None) -> rx.Component:
    return rx.el.main(
        error_banner(),
        supplier_brand(),
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
        class_name="auth-page",
    )


def busy(flag: rx.Var) -> dict:
    """The properties of a button while ``flag`` (its work) runs: marked busy, disabled."""
    return {"aria_busy": rx.cond(flag, "true", "false"), "disabled": flag}


def submit_button(label: str, busy_label: str, icon: str = "arrow-right",
                  variant: str = "green", busy_flag: rx.Var | None = None, **props) -> rx.Component:
    """The submit button of a form; ``busy_flag``: busy while that flag is set."""
    if busy_flag is not None:
        props = {**busy(busy_flag), **props}
    return rx.el.button(
        rx.el.span(label, class_name="btn-label"),
        rx.el.span(busy_label, class_name="btn-busy-label"),
        rx.icon(icon, size=18, aria_hidden="true", class_name="btn-icon"),
        rx.el.span(class_name="spinner", aria_hidden="true"),
        type="submit",
        class_name=f"btn btn-{variant}",
        **props,
    )


def danger_button(label: str, busy_label: str, busy_flag: rx.Var, **props) -> rx.Component:
    """The red «yes» of a confirmation box, busy while ``busy_flag`` is set."""
    return rx.el.button(
        rx.el.span(label, class_name="btn-label"),
        rx.el.span(busy_label, class_name="btn-busy-label"),
        rx.el.span(class_name="spinner", aria_hidden="true"),
        type="button",
        class_name="btn btn-red btn-auto",
        **busy(busy_flag),
        **props,
    )


def confirm_box(question_id: str, question: tuple, *notes: rx.Component, yes: str, busy_label: str,
                busy_flag: rx.Var, on_yes: Any, cancel: str, on_cancel: Any, done_focus: str) -> rx.Component:
    """«Are you sure?»: the ``question`` (its paragraph's id ``question_id``), ``notes``,
    a red «yes» busy while ``busy_flag`` is set, and «cancel».

    Shown in place of the button that asks (:func:`confirm_opener` with the same
    ``question_id``); /lkk.js puts the focus on «cancel» when it opens, makes
    Escape cancel, and gives the focus back to that button when it closes — or,
    when the button is gone too (the thing was done), to the element
    ``done_focus`` (an id: the line that says what was done)."""
    return rx.el.div(
        rx.el.p(*question, id=question_id),
        *notes,
        rx.el.div(
            danger_button(yes, busy_label, busy_flag, on_click=on_yes, aria_describedby=question_id),
            plain_button(cancel, on_click=on_cancel, data_confirm_cancel="1"),
            class_name="button-row",
        ),
        class_name="confirm-box",
        role="group",
        aria_labelledby=question_id,
        data_confirm=question_id,
        data_confirm_return=done_focus,
    )


def confirm_opener(question_id: str, *children, **props) -> rx.Component:
    """The button that opens the :func:`confirm_box` of ``question_id``."""
    return plain_button(*children, data_confirm_opener=question_id, **props)


def plain_button(*children, **props) -> rx.Component:
    """A secondary button («Отмена» and the like)."""
    return rx.el.button(*children, type="button", class_name="btn btn-plain btn-auto", **props)


def event_form(*children, on_submit, narrow: bool = False, **props) -> rx.Component:
    """A form handled by a state event (the browser's own validation is off: the
    server's messages are shown)."""
    return rx.el.form(*children, on_submit=on_submit, class_name="form form-narrow" if narrow else "form",
                      no_validate=True, **props)


def panel(title: str, title_id: str, *children, **props) -> rx.Component:
    """A titled panel of a cabinet tab."""
    return rx.el.section(
        rx.el.h2(title, class_name="panel-title", id=title_id),
        *children,
        class_name="panel",
        aria_labelledby=title_id,
        **props,
    )


def data_table(caption: str, headers: list[str | rx.Component], rows: rx.Var, row: Any,
               kind: str) -> rx.Component:
    """A table of ``rows`` (one ``row(item)`` each) under column ``headers``; the
    caption is for screen readers."""
    return rx.el.table(
        rx.el.caption(caption, class_name="sr-only"),
        rx.el.thead(rx.el.tr(*[rx.el.th(header, scope="col") for header in headers])),
        rx.el.tbody(rx.foreach(rows, row)),
        class_name=f"data-table {kind}-table",
    )


def cell(label: str, *children, **props) -> rx.Component:
    """A table cell that names its column itself on narrow screens (stacked rows)."""
    return rx.el.td(rx.el.span(*children, class_name="cell-value"), data_label=label, **props)


def fact(label: str, value: Any, test_id: str = "") -> rx.Component:
    """A «label: value» row of a card's list (``<dl class="profile-list">``)."""
    return rx.el.div(rx.el.dt(label), rx.el.dd(value, data_testid=test_id or None), class_name="profile-row")


def card_panel(is_open: rx.Var, panel_id: str, title: tuple, on_close: Any, *children: rx.Component) -> rx.Component:
    """A card opened from a list: its title, «Закрыть», the content.  It takes the
    focus when opened (``rx.set_focus(panel_id)``), so it is focusable."""
    return rx.cond(
        is_open,
        rx.el.section(
            rx.el.div(
                rx.el.h2(*title, class_name="panel-title", id=f"{panel_id}-title"),
                rx.el.button(rx.icon("x", size=16, aria_hidden="true"), rx.el.span(t("contracts.close")),
                             type="button", class_name="btn-small", on_click=on_close),
                class_name="panel-head",
            ),
            *children,
            class_name="panel",
            id=panel_id,
            tab_index=-1,
            aria_labelledby=f"{panel_id}-title",
        ),
        rx.fragment(),
    )


def logout_form(label: str) -> rx.Component:
    """«Выйти»: a plain form posted to the logout route."""
    return native_form(
        rx.el.button(
            rx.icon("log-out", size=16, aria_hidden="true"),
            rx.el.span(label),
            type="submit",
            class_name="btn-link",
        ),
        action=routes.server_address(routes.AUTH_LOGOUT),
        method="post",
        data_native="1",
    )


def icon_link(label: str, href: str, icon: str, *, server_route: bool = False) -> rx.Component:
    """A link with an icon; ``server_route``: a page the server makes itself (not
    one of the app's routes), loaded as a document instead of a route change."""
    return rx.el.a(
        rx.icon(icon, size=16, aria_hidden="true"),
        rx.el.span(label),
        href=href,
        class_name="icon-link",
        **({"custom_attrs": {"reloadDocument": True}} if server_route else {}),
    )


def status_line(message: rx.Var, test_id: str, kind: str = "saved", **props) -> rx.Component:
    """A live region for ``message``; styled (a box, a colour) only when there is a message."""
    return rx.el.p(message, class_name=rx.cond(message != "", kind, ""), role="status", aria_live="polite",
                   data_testid=test_id, **props)


def as_of_line(as_of: rx.Var) -> rx.Component:
    """«Данные на 07.12.2026 12:00» — how fresh the copy of billing data is."""
    return rx.cond(as_of != "", rx.el.p(t("contracts.as_of"), " ", as_of, class_name="as-of", data_testid="as-of"),
                   rx.fragment())


def pager(offset: rx.Var, total: rx.Var, size: int, show_page: Any, shown: str) -> rx.Component:
    """«Назад» / «Договоры 51–100 из 300» / «Далее» when there is more than a page."""
    return rx.cond(
        total > size,
        rx.el.div(
            plain_button(t("contracts.prev"), disabled=offset == 0, on_click=show_page(offset - size)),
            rx.el.span(shown, " ", offset + 1, "–", rx.cond(offset + size < total, offset + size, total),
                       " ", t("contracts.of"), " ", total, class_name="pager-text"),
            plain_button(t("contracts.next"), disabled=offset + size >= total, on_click=show_page(offset + size)),
            class_name="button-row pager",
        ),
        rx.fragment(),
    )
