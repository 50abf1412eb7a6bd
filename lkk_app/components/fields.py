"""Form fields: a visible label bound to its input, an icon, and a message slot."""

from __future__ import annotations

import reflex as rx

from lkk_app.i18n import t


def field_error(field_id: str, message: rx.Var | str) -> rx.Component:
    return rx.el.p(
        message,
        id=f"{field_id}-error",
        class_name="field-error",
        role="alert",
        aria_live="polite",
    )


def text_field(
    field_id: str,
    label: str,
    icon: str,
    *,
    name: str | None = None,
    input_type: str = "text",
    placeholder: str = "",
    autocomplete: str = "off",
    default_value: rx.Var | str = "",
    error: rx.Var | str = "",
    hint: str = "",
    max_length: int = 254,
    required: bool = True,
    empty_message: str = "",
    **input_props,
) -> rx.Component:
    """A labelled input with an icon.  Uncontrolled: the browser holds the value.

    ``empty_message``: what /lkk.js shows when a required field of a native
    form is empty (by default «Заполните это поле»).

    A password field also gets «Показать пароль» (a button that /lkk.js turns
    into «Скрыть пароль» while the characters show) and a line that says
    «Включён Caps Lock» while Caps Lock is on and the field has the focus."""
    password = input_type == "password"
    described = f"{field_id}-error" + (f" {field_id}-hint" if hint else "") + (
        f" {field_id}-caps" if password else "")
    return rx.el.div(
        rx.el.label(label, html_for=field_id, class_name="field-label"),
        rx.el.div(
            rx.icon(icon, class_name="field-icon", aria_hidden="true", size=18),
            rx.el.input(
                id=field_id,
                name=name or field_id,
                type=input_type,
                placeholder=placeholder,
                auto_complete=autocomplete,
                default_value=default_value,
                max_length=max_length,
                aria_describedby=described,
                aria_invalid=(rx.cond(error != "", "true", "false") if isinstance(error, rx.Var)
                              else ("true" if error else "false")),
                data_required="1" if required else "0",
                data_empty_message=(empty_message or t("common.required")) if required else None,
                class_name="field-input",
                **input_props,
            ),
            _show_password(field_id) if password else rx.fragment(),
            class_name="field-control" + (" has-toggle" if password else ""),
        ),
        _caps_lock_line(field_id) if password else rx.fragment(),
        rx.el.p(hint, id=f"{field_id}-hint", class_name="field-hint") if hint else rx.fragment(),
        field_error(field_id, error),
        class_name="field",
    )


def _show_password(field_id: str) -> rx.Component:
    """«Показать пароль» / «Скрыть пароль» (/lkk.js switches the input's type).
    The words are the button's own (hidden) text, not an ``aria-label``, so
    that they never count as a label of the field."""
    return rx.el.button(
        rx.icon("eye", size=18, aria_hidden="true", class_name="when-hidden"),
        rx.icon("eye-off", size=18, aria_hidden="true", class_name="when-shown"),
        rx.el.span(t("common.show_password"), class_name="sr-only"),
        type="button",
        class_name="pw-toggle",
        title=t("common.show_password"),
        aria_controls=field_id,
        data_toggle_password=field_id,
        data_show=t("common.show_password"),
        data_hide=t("common.hide_password"),
        data_shown="0",
    )


def _caps_lock_line(field_id: str) -> rx.Component:
    """Filled by /lkk.js while Caps Lock is on in the field (a live region, empty otherwise)."""
    return rx.el.p("", id=f"{field_id}-caps", class_name="field-hint caps-hint", aria_live="polite",
                   data_caps_for=field_id, data_text=t("common.caps_lock"))


def strength_hint(for_id: str) -> rx.Component:
    """The live password-strength line under the password field ``for_id``.

    Filled in while typing by /lkk.js (no keystroke travels to the server);
    the server checks the password again on submit."""
    return rx.el.p(
        "",
        id=f"{for_id}-strength",
        class_name="field-hint strength",
        aria_live="polite",
        data_for=for_id,
        **{f"data-s{i}": t(f"strength.{i}") for i in range(5)},
    )


def new_password_fields(field_id: str, label: str, confirm_label: str, errors: rx.Var,
                        attempt: rx.Var, **props) -> tuple[rx.Component, ...]:
    """A new password, its strength line and its confirmation (``password_confirm``),
    their messages from the form's ``errors`` (field → text).  The strength line
    is remounted (empty) when ``attempt`` changes: a failed attempt clears the fields."""
    return (
        text_field(field_id, label, "lock", input_type="password", autocomplete="new-password",
                   error=errors.get(field_id, ""), hint=t("register.password_hint"), max_length=256, **props),
        rx.fragment(strength_hint(field_id), key=attempt),
        text_field("password_confirm", confirm_label, "lock", input_type="password",
                   autocomplete="new-password", error=errors.get("password_confirm", ""), max_length=256),
    )
