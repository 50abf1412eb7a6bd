"""The «Код авторизации» block: input ``code``, the server-drawn image,
«Обновить код» and «Прослушать код» (the same code spoken, served by
``GET /captcha/audio/<challenge_id>``; /lkk.js plays it).  Used by
registration and, after failed logins, by the login window (which also sends
the challenge id in a hidden field)."""

from __future__ import annotations

import reflex as rx

from lkk_app.i18n import t


def captcha_field(
    *,
    src: rx.Var,
    audio: rx.Var,
    error: rx.Var | str,
    on_refresh,
    challenge_id: rx.Var | None = None,
    required: bool = False,
) -> rx.Component:
    """``src``: the image as a data URL (empty: a placeholder); ``error``: the
    message under the field; ``audio``: the address of the spoken code (empty
    while there is an image: no speech synthesiser on the server — the block
    says so); ``on_refresh``: the event that draws a new code.
    ``challenge_id``: rendered as ``<input type=hidden name=captcha_id>`` for a
    native form post (the id is not secret; the answer stays on the server).
    ``required``: the login form's script checks the field before posting."""
    invalid = rx.cond(error != "", "true", "false") if isinstance(error, rx.Var) else (
        "true" if error else "false")
    extra = {"data_required": "1", "data_empty_message": t("common.required")} if required else {}
    return rx.el.div(
        rx.el.label(t("register.code"), html_for="code", class_name="field-label"),
        rx.el.div(
            rx.el.div(
                rx.icon("key-round", class_name="field-icon", aria_hidden="true", size=18),
                rx.el.input(
                    id="code", name="code", type="text", input_mode="numeric",
                    auto_complete="off", max_length=16, class_name="field-input",
                    aria_describedby="code-hint code-error",
                    aria_invalid=invalid,
                    **extra,
                ),
                class_name="field-control captcha-input",
            ),
            rx.cond(
                src != "",
                rx.el.img(src=src, alt=t("register.code_image"),
                          width="220", height="70", class_name="captcha-img", id="captcha-img"),
                rx.el.div(class_name="captcha-img captcha-placeholder"),
            ),
            rx.el.button(
                rx.icon("refresh-cw", size=18, aria_hidden="true"),
                type="button",
                on_click=on_refresh,
                class_name="icon-btn",
                aria_label=t("register.code_refresh"),
                title=t("register.code_refresh"),
            ),
            class_name="captcha-row",
        ),
        rx.cond(
            audio != "",
            rx.el.div(
                rx.el.button(
                    rx.icon("volume-2", size=18, aria_hidden="true"),
                    t("register.code_listen"),
                    type="button",
                    class_name="listen-btn",
                    id="code-listen",
                    data_play="captcha-audio",
                    data_status="code-listen-status",
                    data_failed=t("register.code_listen_failed"),
                ),
                # Fetched only when played; a new challenge gives a new address.
                rx.el.audio(id="captcha-audio", src=audio, preload="none"),
                rx.el.p("", id="code-listen-status", class_name="field-error", role="status"),
                class_name="captcha-listen",
            ),
            rx.cond(src != "", rx.el.p(t("register.code_listen_off"), class_name="field-hint")),
        ),
        rx.el.p(t("register.code_hint"), id="code-hint", class_name="field-hint"),
        rx.el.p(error, id="code-error", class_name="field-error", role="alert"),
        *([rx.el.input(type="hidden", name="captcha_id", value=challenge_id)]
          if challenge_id is not None else []),
        class_name="field",
    )
