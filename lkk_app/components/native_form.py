"""A plain HTML form that the browser submits itself (no Reflex event).

Login and logout go over HTTP so that the session cookie can be HttpOnly and
the session token never travels in a websocket frame.
"""

import reflex as rx
from reflex_components_core.el.elements.base import BaseHTML


class NativeForm(BaseHTML):
    tag = "form"

    action: rx.Var[str]
    method: rx.Var[str]
    no_validate: rx.Var[bool]
    accept_charset: rx.Var[str]


def native_form(*children, **props) -> rx.Component:
    """The form; ``data-failed`` holds what the page says when its script could
    not post it (the split shape, ``/lkk.js``)."""
    from lkk_app.i18n import t

    props.setdefault("data_failed", t("common.send_failed"))
    return NativeForm.create(*children, **props)
