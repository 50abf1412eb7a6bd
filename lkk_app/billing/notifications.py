"""Letters about the contracts: new documents issued, the reading window open
and two days before it closes, a debt appeared — each member of an
organisation chooses which in «Профиль» (all on until they say otherwise) —
and «Акт сверки готов» to whoever asked for one.

:func:`run_pass` runs after each sync pass (``lkk_app.billing.background``),
in any number of server processes at once.  Each event is told to a person
once (a row per person, kind and subject), and each kind at most once a day
per person: the first subject of the day inserts the day's marker row, and
whoever fails to insert it sends nothing.  What was not told today waits for
tomorrow's letter.  Letters go through the outbox (queued in the same
transaction as their rows); the pass writes nothing else.

A document is new to a person when the cabinet received it after they could
see its contract (the binding, their membership), after their last choice of
letters, and it was issued in the last :data:`NEW_DAYS` days — a contract
bound today does not bring years of documents in a letter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from lkk_app import routes
from lkk_app.billing import binding, reconciliation, store
from lkk_app.billing.binding_tables import ContractBinding, Membership
from lkk_app.billing.documents_tables import NotificationSent, NotificationSettings
from lkk_app.billing.readings import tables as reading_tables
from lkk_app.billing.readings.rules import open_window
from lkk_app.billing.readings.service import window_setting
from lkk_app.billing.settlements import overdue_amount
from lkk_app.billing.store import BillingDocumentCopy
from lkk_app.billing.types import Contract, DocumentKind, DocumentStatus
from lkk_app.core.formatting import date_text, month_text, number
from lkk_app.db import dialect_insert, rowcount, table_of
from lkk_app.i18n import label, t
from lkk_app.mail import outbox
from lkk_app.models import User
from lkk_app.settings import Settings

NEW_DOCUMENT, WINDOW_OPENS, WINDOW_CLOSING, DEBT = "new_document", "window_opens", "window_closing", "debt"
KINDS = (NEW_DOCUMENT, WINDOW_OPENS, WINDOW_CLOSING, DEBT)
CLOSING_DAYS = 2  # «за два дня до окончания приёма показаний»
NEW_DAYS = 40  # a document issued earlier is history, not news
ROWS_MAX = 50  # lines of one letter's table


@dataclasses.dataclass(frozen=True, slots=True)
class Preferences:
    new_document: bool = True
    window_opens: bool = True
    window_closing: bool = True
    debt: bool = True

    def wants(self, kind: str) -> bool:
        return bool(getattr(self, kind))


# --------------------------------------------------------------------------- «Профиль»


def preferences(db: Session, user_id: int) -> Preferences:
    row = db.get(NotificationSettings, user_id)
    if row is None:
        return Preferences()
    return Preferences(row.new_document, row.window_opens, row.window_closing, row.debt)


def save_preferences(db: Session, user_id: int, wanted: Preferences, now: datetime) -> Preferences:
    """Store the person's choice; flushes, does not commit."""
    values = {"new_document": wanted.new_document, "window_opens": wanted.window_opens,
              "window_closing": wanted.window_closing, "debt": wanted.debt, "updated_at": now}
    db.execute(dialect_insert(db, table_of(NotificationSettings)).values(user_id=user_id, **values)
               .on_conflict_do_update(index_elements=["user_id"], set_=values))
    db.flush()
    return wanted


# --------------------------------------------------------------------------- the pass


def _recipients(db: Session) -> list[User]:
    """People in an organisation, with a confirmed e-mail."""
    members = select(Membership.user_id).distinct()
    return list(db.exec(select(User).where(col(User.id).in_(members), col(User.email_confirmed_at).is_not(None))
                        .order_by(col(User.id))).all())


def _told(db: Session, user_id: int, kind: str, subjects: Sequence[str]) -> set[str]:
    if not subjects:
        return set()
    rows = db.exec(select(NotificationSent.subject).where(
        NotificationSent.user_id == user_id, NotificationSent.kind == kind,
        col(NotificationSent.subject).in_(list(subjects)))).all()
    return set(rows)


def _claim(db: Session, user_id: int, kind: str, subjects: Sequence[str], today: date, now: datetime) -> list[str]:
    """Take today's letter of ``kind`` for the person and the ``subjects`` no one
    told them of yet; ``[]`` when today's letter is gone already."""
    fresh = [s for s in dict.fromkeys(subjects) if s not in _told(db, user_id, kind, subjects)]
    if not fresh:
        return []
    insert = dialect_insert(db, table_of(NotificationSent))
    day = {"user_id": user_id, "kind": kind, "subject": f"day:{today.isoformat()}", "sent_on": today,
           "created_at": now}
    if not rowcount(db.execute(insert.values(day).on_conflict_do_nothing(
            index_elements=["user_id", "kind", "subject"]))):
        return []
    taken = []
    for subject in fresh:
        values = {**day, "subject": subject[:100]}
        if rowcount(db.execute(insert.values(values).on_conflict_do_nothing(
                index_elements=["user_id", "kind", "subject"]))):
            taken.append(subject)
    return taken


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    subject: str
    row: list[str]  # the letter's table row


def _visible_since(db: Session, user_id: int, chosen_at: datetime | None) -> dict[str, datetime]:
    """Each contract the person sees, and since when (the later of its binding,
    their membership and their last choice of letters)."""
    rows = db.execute(sa.select(col(ContractBinding.contract_key), col(ContractBinding.bound_at),
                                col(Membership.created_at))
                      .join(Membership, col(Membership.organisation_key) == col(ContractBinding.organisation_key))
                      .where(col(Membership.user_id) == user_id)).all()
    return {key: max(bound, joined, chosen_at or bound) for key, bound, joined in rows}


def _documents(db: Session, contracts: Sequence[Contract], since: dict[str, datetime], today: date) -> list[Event]:
    numbers = {c.key: c.number for c in contracts if c.key in since}
    if not numbers:
        return []
    rows = db.exec(select(BillingDocumentCopy).where(
        col(BillingDocumentCopy.contract_key).in_(list(numbers)),
        col(BillingDocumentCopy.first_synced_at) > min(since.values()),
        col(BillingDocumentCopy.issued_on) >= today - timedelta(days=NEW_DAYS),
        col(BillingDocumentCopy.status) != DocumentStatus.PREPARING.value)
        .order_by(col(BillingDocumentCopy.issued_on), col(BillingDocumentCopy.key)).limit(500)).all()
    rows = [r for r in rows if r.first_synced_at > since[r.contract_key]]
    return [Event(f"doc:{r.key}", [numbers[r.contract_key], label(DocumentKind(r.kind)), r.number,
                                   date_text(r.issued_on), number(r.amount, 2)]) for r in rows]


def _given(db: Session, contract_key: str, period: date) -> bool:
    """A submission of the month's readings that stands (given, or accepted)."""
    return db.exec(select(reading_tables.ReadingSubmission.id).where(
        reading_tables.ReadingSubmission.contract_key == contract_key,
        reading_tables.ReadingSubmission.period == period,
        col(reading_tables.ReadingSubmission.status).in_(list(reading_tables.LIVE)))).first() is not None


def _by_hand(db: Session, contract_key: str) -> bool:
    """The contract has a point whose readings the customer gives."""
    return any(not p.remote for p in store.points_of(db, contract_key))


def _windows(db: Session, contracts: Sequence[Contract], today: date, settings: Settings
             ) -> tuple[list[Event], list[Event]]:
    opened, closing = [], []
    for c in contracts:
        window = open_window(today, window_setting(c, settings))
        if window is None or not _by_hand(db, c.key) or _given(db, c.key, window.period):
            continue
        row = [c.number, month_text(window.period), date_text(window.closes)]
        opened.append(Event(f"open:{c.key}:{window.period:%Y%m}", row))
        if (window.closes - today).days <= CLOSING_DAYS:
            closing.append(Event(f"closing:{c.key}:{window.period:%Y%m}", row))
    return opened, closing


def _debts(db: Session, contracts: Sequence[Contract], today: date) -> list[Event]:
    found = []
    for c in contracts:
        items = store.plan_items(db, c.key)
        overdue = overdue_amount(items, today)
        if overdue <= 0:
            continue
        first = min((i for i in items if i.due_on < today and i.remaining > 0), key=lambda i: i.due_on)
        found.append(Event(f"debt:{c.key}:{first.key}", [c.number, number(overdue, 2), date_text(first.due_on)]))
    return found


# Each kind's letter and the tab it links to.
LETTERS = {NEW_DOCUMENT: ("new_documents", routes.DOCUMENTS), WINDOW_OPENS: ("readings_window_open", routes.READINGS),
           WINDOW_CLOSING: ("readings_window_closing", routes.READINGS), DEBT: ("debt_appeared", routes.SETTLEMENTS)}


def _send(db: Session, user: User, kind: str, events: Sequence[Event], today: date, now: datetime,
          settings: Settings) -> int:
    if user.id is None or not events:
        return 0
    taken = set(_claim(db, user.id, kind, [e.subject for e in events], today, now))
    told = [e for e in events if e.subject in taken]
    if not told:
        return 0
    template, page = LETTERS[kind]
    origin = settings.pages_url.rstrip("/")
    params: dict[str, object] = {"login": user.login, "count": str(len(told)),
                                 "rows": [e.row for e in told[:ROWS_MAX]], "address": origin + page,
                                 "profile": origin + routes.PROFILE}
    if len(told) > ROWS_MAX:
        params["more"] = t("mail.more_rows", count=len(told) - ROWS_MAX)
    outbox.enqueue(db, kind=template, template=template, recipient=user.email, params=params, user_id=user.id,
                   settings=settings)
    return 1


def notify_user(db: Session, user: User, *, today: date, now: datetime, settings: Settings) -> int:
    """The person's letters due now; how many were queued.  Flushes, does not commit."""
    if user.id is None:
        return 0
    row = db.get(NotificationSettings, user.id)
    wanted = Preferences(row.new_document, row.window_opens, row.window_closing, row.debt) if row else Preferences()
    contracts = [c for c in binding.bound_contracts(db, user.id, limit=500).contracts]
    sent = 0
    if wanted.new_document:
        since = _visible_since(db, user.id, row.updated_at if row else None)
        sent += _send(db, user, NEW_DOCUMENT, _documents(db, contracts, since, today), today, now, settings)
    if wanted.window_opens or wanted.window_closing:
        opened, closing = _windows(db, contracts, today, settings)
        if wanted.window_opens:
            sent += _send(db, user, WINDOW_OPENS, opened, today, now, settings)
        if wanted.window_closing:
            sent += _send(db, user, WINDOW_CLOSING, closing, today, now, settings)
    if wanted.debt:
        sent += _send(db, user, DEBT, _debts(db, contracts, today), today, now, settings)
    db.flush()
    return sent


def acts_ready(db: Session, *, settings: Settings) -> int:
    """«Акт сверки готов» to whoever asked, once per request.  Flushes, does not commit."""
    ready = reconciliation.acts_ready(db)
    for request, doc in ready:
        user = db.get(User, request.user_id) if request.user_id is not None else None
        contract = store.contract(db, request.contract_key)
        if user is not None and user.email:
            outbox.enqueue(db, kind="reconciliation_ready", template="reconciliation_ready", recipient=user.email,
                           params={"login": user.login, "contract": contract.number if contract else "",
                                   "number": doc.number,
                                   "period": t("documents.period_range", start=date_text(doc.period_from),
                                               end=date_text(doc.period_to)),
                                   "address": settings.pages_url.rstrip("/") + routes.DOCUMENTS},
                           user_id=user.id, settings=settings)
    reconciliation.mark_ready(db, [r.id for r, _ in ready if r.id is not None])
    db.flush()
    return len(ready)


def run_pass(engine: sa.Engine, *, today: date, now: datetime, settings: Settings) -> int:
    """Every person's letters due now, one transaction per person; the number queued."""
    with Session(engine, expire_on_commit=False) as db:
        sent = acts_ready(db, settings=settings)
        db.commit()
        users = _recipients(db)
    for user in users:
        with Session(engine, expire_on_commit=False) as db:
            sent += notify_user(db, user, today=today, now=now, settings=settings)
            db.commit()
    return sent

