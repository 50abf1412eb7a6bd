"""Domain errors raised by the services.  Messages are Russian, from :mod:`lkk_app.i18n`."""

from __future__ import annotations

from lkk_app.i18n import t


class DomainError(Exception):
    """Base class: the operation was refused for a reason the user may see."""


class FieldErrors(DomainError):
    """One or more form fields are invalid.

    ``errors`` maps a field name (``"login"``, ``"email"``, ``"phone"``,
    ``"password"``…) to the Russian message to show next to that field.
    """

    def __init__(self, errors: dict[str, str]):
        self.errors: dict[str, str] = dict(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors.items()))


class AuthenticationFailed(DomainError):
    """Login refused.  Always the same message, whatever the reason."""

    def __init__(self) -> None:
        super().__init__(t("login.failed"))

    @property
    def message(self) -> str:
        return t("login.failed")
