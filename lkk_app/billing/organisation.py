"""What an organisation's administrator sets in the cabinet for the whole
organisation: the notification address (receipts of readings go there too,
besides the user who gave them)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlmodel import Session, col, select

from lkk_app.auth import audit, validation
from lkk_app.billing import binding, store
from lkk_app.billing.binding import BindingError
from lkk_app.billing.binding_tables import ADMINISTRATOR, Membership
from lkk_app.billing.readings.tables import OrganisationSettings
from lkk_app.core import clock
from lkk_app.core.errors import FieldErrors


@dataclasses.dataclass(frozen=True, slots=True)
class OrganisationNotices:
    organisation_key: str
    name: str
    email: str  # "" when none is set


def administered(db: Session, user_id: int) -> list[OrganisationNotices]:
    """The organisations the user administers, with their notification address."""
    keys = db.exec(select(Membership.organisation_key).where(
        Membership.user_id == user_id, Membership.role == ADMINISTRATOR).order_by(col(Membership.id))).all()
    found = []
    for key in keys:
        organisation = store.organisation(db, key)
        row = db.get(OrganisationSettings, key)
        found.append(OrganisationNotices(key, organisation.short_name if organisation else key,
                                         (row.notification_email or "") if row else ""))
    return found


def set_notification_email(db: Session, *, user_id: int, organisation_key: object, email: str,
                           now: datetime | None = None) -> str:
    """Set (or, with an empty ``email``, clear) the organisation's notification
    address; the administrator only (``binding.not_administrator`` otherwise),
    the address checked like an account's (``FieldErrors`` on ``email``)."""
    if not isinstance(organisation_key, str) or binding.role_in(db, user_id, organisation_key) != ADMINISTRATOR:
        raise BindingError("binding.not_administrator")
    value = (email or "").strip()
    if value:
        problem = validation.email_error(value)
        if problem is not None:
            raise FieldErrors({"email": problem})
    now = now or clock.utcnow()
    row = db.get(OrganisationSettings, organisation_key) or OrganisationSettings(
        organisation_key=organisation_key, updated_at=now)
    row.notification_email, row.updated_by, row.updated_at = value or None, user_id, now
    db.add(row)
    audit.record(db, event=audit.ORGANISATION_EMAIL, user_id=user_id, detail=f"{organisation_key}: {value or '—'}")
    db.flush()
    return value
