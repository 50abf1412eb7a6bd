"""The receipt of a submission of readings: a letter to the user who gave them
and to the organisation's notification address (if its administrator set one),
listing what was given — queued in the same transaction as the submission."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from lkk_app.billing import store
from lkk_app.billing.readings import tables
from lkk_app.core.formatting import date_text, local_datetime, month_text, number
from lkk_app.i18n import label, t
from lkk_app.mail import outbox, templates
from lkk_app.models import User
from lkk_app.settings import Settings

if TYPE_CHECKING:
    from lkk_app.billing.readings.service import ReadingsForm


def notification_email(db: Session, organisation_key: str) -> str | None:
    row = db.get(tables.OrganisationSettings, organisation_key)
    return row.notification_email if row is not None else None


def rows_of(values: Sequence[Mapping[str, Any]], form: ReadingsForm) -> list[list[str]]:
    """Point, meter, zone, value, consumption — a row per value (``lkk_reading_value`` rows)."""
    slots = {s.meter.key: s for s in form.slots}
    rows = []
    for value in values:
        slot = slots.get(value["meter_key"])
        if slot is None:
            continue
        zone = next((label(r.zone) for r in slot.meter.registers if r.key == value["register_key"]), "")
        consumption = value["consumption"]
        rows.append([slot.point.name, slot.meter.serial, zone, number(value["value"], slot.meter.decimals),
                     number(consumption, 2) if consumption is not None else "—"])
    return rows


def queue_receipts(db: Session, submission: tables.ReadingSubmission, values: Sequence[Mapping[str, Any]],
                   form: ReadingsForm, *, settings: Settings) -> None:
    user = db.get(User, submission.user_id) if submission.user_id is not None else None
    if user is None:
        return
    organisation = store.organisation(db, submission.organisation_key)
    rows = rows_of(values, form)
    shown = rows[:templates.MAX_ROWS]
    params = {
        "organisation": organisation.short_name if organisation else form.contract.organisation_key,
        "contract": form.contract.number, "period": month_text(submission.period),
        "as_of": date_text(submission.as_of), "time": local_datetime(submission.created_at, settings=settings),
        "count": str(len(values)), "status": t("readings.receipt_status"),
        "more": t("readings.receipt_more", count=len(rows) - len(shown)) if len(rows) > len(shown) else "",
    }
    recipients = [user.email]
    extra = notification_email(db, submission.organisation_key)
    if extra and extra.lower() != user.email.lower():
        recipients.append(extra)
    for recipient in recipients:
        outbox.queue_readings_receipt(db, user, recipient=recipient, rows=shown, settings=settings, **params)
