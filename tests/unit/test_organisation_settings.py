"""«Уведомления организации»: only an administrator sets the organisation's
notification address, it is checked like an account's, cleared when empty,
and the change is in the audit trail."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from lkk_app.auth import audit
from lkk_app.billing import binding, organisation
from lkk_app.billing.binding import BindingError
from lkk_app.billing.binding_tables import MEMBER, Membership
from lkk_app.billing.readings import receipts
from lkk_app.core.errors import FieldErrors
from lkk_app.models import AuditEvent
from tests.factories import make_member

NOW = datetime(2026, 12, 7, 9, 0, 0)


def test_the_administrator_sets_and_clears_the_address(db):
    ann = make_member(db, "ann", now=NOW).id
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
    ann, bob, eve = (make_member(db, login, now=NOW).id for login in ("ann", "bob", "eve"))
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
