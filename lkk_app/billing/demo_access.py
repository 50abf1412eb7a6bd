"""«Демо-доступ» (``LKK_DEMO=1``, demo billing only): a ready account ``demo``
with a password shown in the login window, administrator of «ООО «Ромашка-Демо»»
with Д-1001 and Д-1002 bound.  Made — or put back: its password, membership and
the two bindings — each time a server starts."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from lkk_app.auth import passwords, users
from lkk_app.billing import binding
from lkk_app.billing.binding_tables import ContractBinding
from lkk_app.core import clock
from lkk_app.models import User
from lkk_app.settings import Settings

DEMO_LOGIN = "demo"
DEMO_PASSWORD = "Демо-доступ 2026"  # noqa: S105 - public on purpose: shown in the login window
DEMO_EMAIL = "demo@demo-lkk.example"
DEMO_ORGANISATION = "org-romashka"
DEMO_CONTRACTS = ("ctr-1001", "ctr-1002")


def ensure_demo_account(engine: sa.Engine, settings: Settings) -> int:
    """The demo account's id, after putting it back as described above."""
    with Session(engine, expire_on_commit=False) as db:
        user = db.exec(select(User).where(User.login_key == DEMO_LOGIN)).first()
        if user is None:
            user = users.create_user(db, login=DEMO_LOGIN, email=DEMO_EMAIL, password=DEMO_PASSWORD,
                                     confirmed=True, settings=settings)
        elif not passwords.verify_password(DEMO_PASSWORD, user.password_hash, secret_key=settings.secret_key):
            user.password_hash = passwords.hash_password(DEMO_PASSWORD, secret_key=settings.secret_key,
                                                         cost=settings.bcrypt_cost)
            user.updated_at = clock.utcnow()
            db.add(user)
        if user.id is None:  # pragma: no cover - a stored user has an id
            raise RuntimeError("the demo account was not stored")
        free = [key for key in DEMO_CONTRACTS if db.get(ContractBinding, key) is None]
        if free:
            binding.bind(db, user_id=user.id, organisation_key=DEMO_ORGANISATION, contract_keys=free)
        db.commit()
        return user.id
