"""«Уведомления организации»: only an administrator sets the organisation's
notification address, it is checked like an account's, cleared when empty,
and the change is in the audit trail."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import Session, select

from lkk_app.auth import audit
from lkk_app.billing import binding, organisation
from lkk_app.billing.binding import BindingError
from lkk_app.billing.binding_tables import MEMBER, Membership
from lkk_app.billing.readings import receipts
from lkk_app.core.errors import FieldErrors
from lkk_app.models import AuditEvent, User

NOW = datetime(2026, 12, 7, 9, 0, 0)


def _user(db: Session, login: str) -> int:
    user = User(login=login, login_key=login, login_skeleton=login, email=f"{login}@example.org",
                email_key=f"{login}@example.org", password_hash="x", created_at=NOW, updated_at=NOW,
                email_confirmed_at=NOW)
    db.add(user)
    db.flush()
    assert user.id is not None
    return user.id


def test_the_administrator_sets_and_clears_the_address(db):
    ann = _user(db, "ann")
    binding.bind(db, user_id=ann, organisation_key="org-a", contract_keys=["ctr-1"], now=NOW)
    organisation.set_notification_email(db, user_id=ann, organisation_key="org-a", email=" buh@firma.example ")
    assert receipts.notification_email(db, "org-a") == "buh@firma.example"
    assert [(o.organisation_key, o.email) for o in organisation.administered(db, ann)] == [
        ("org-a", "buh@firma.example")]
    organisation.set_notification_email(db, user_id=ann, organisation_key="org-a", email="")
    assert receipts.notification_email(db, "org-a") is None
    events = db.exec(select(AuditEvent).where(AuditEvent.event == audit.ORGANISATION_EMAIL)).all()
    assert [e.detail for e in events] == ["org-a: buh@firma.example", "org-a: —"]


def test_a_member_or_an_outsider_cannot_and_a_bad_address_is_refused(db):
    ann, bob, eve = _user(db, "ann"), _user(db, "bob"), _user(db, "eve")
    binding.bind(db, user_id=ann, organisation_key="org-a", contract_keys=["ctr-1"], now=NOW)
    db.add(Membership(user_id=bob, organisation_key="org-a", role=MEMBER, created_at=NOW))
    for user in (bob, eve):
        with pytest.raises(BindingError) as caught:
            organisation.set_notification_email(db, user_id=user, organisation_key="org-a", email="x@y.example")
        assert caught.value.code == "binding.not_administrator"
    with pytest.raises(FieldErrors) as bad:
        organisation.set_notification_email(db, user_id=ann, organisation_key="org-a", email="не адрес")
    assert bad.value.codes() == {"email": "email.invalid"}
    assert organisation.administered(db, bob) == [] and receipts.notification_email(db, "org-a") is None
