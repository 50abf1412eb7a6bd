"""Domain errors raised by the services: *codes* with parameters, not sentences.

A :class:`Code` names a catalogue key (``email.invalid``) and the values its
text needs (``left=3``).  The web side and the command line turn codes into
words (``lkk_app.i18n.message`` / ``messages``); tests assert codes.
"""

from __future__ import annotations

from collections.abc import Mapping


class Code:
    """A message for the user, by catalogue key: ``Code("email.invalid")``,
    ``Code("profile.current_password_wrong_left", left=3)``.

    Parameter values are plain values, other codes, or ``timedelta`` (a wait,
    shown as «2 мин 5 с»)."""

    __slots__ = ("key", "params")

    def __init__(self, key: str, params: Mapping[str, object] | None = None, /, **kwargs: object):
        if not isinstance(key, str) or not key:
            raise ValueError("a code is a non-empty catalogue key")
        self.key = key
        self.params: dict[str, object] = {**(params or {}), **kwargs}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Code):
            return NotImplemented
        return (self.key, self.params) == (other.key, other.params)

    def __hash__(self) -> int:
        return hash((self.key, tuple(sorted((k, repr(v)) for k, v in self.params.items()))))

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"Code({self.key!r}{args})"

    def __str__(self) -> str:
        return self.key


class DomainError(Exception):
    """Base class: the operation was refused for a reason the user may see."""


class FieldErrors(DomainError):
    """One or more form fields are invalid.

    ``errors`` maps a field name (``"login"``, ``"email"``, ``"phone"``,
    ``"password"``…) to the :class:`Code` of the message for that field.
    """

    def __init__(self, errors: Mapping[str, Code]):
        self.errors: dict[str, Code] = dict(errors)
        super().__init__("; ".join(f"{field}: {code}" for field, code in self.errors.items()))

    def codes(self) -> dict[str, str]:
        """Field → catalogue key (what tests compare)."""
        return {field: code.key for field, code in self.errors.items()}


class AuthenticationFailed(DomainError):
    """Login refused.  Always the same code, whatever the reason."""

    code = Code("login.failed")

    def __init__(self) -> None:
        super().__init__(self.code.key)
