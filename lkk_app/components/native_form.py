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


native_form = NativeForm.create
