"""«Документы» and «Расчёты» attacked over a raw websocket and over the file
routes: a logged-in user of one organisation names another organisation's
contracts and documents, asks for their act of reconciliation, selects their
documents for a .zip — and gets nothing of theirs, asks billing for nothing."""

from __future__ import annotations

import httpx

from tests.attack.conftest import assert_alive
from tests.attack.test_contracts import _bind
from tests.attack.test_readings import _attacker

# What «Ромашка»'s pages would show: its numbers, its organisation, its payments.
VICTIM_SECRETS = ("Д-1001", "Д-1002", "-1001", "-1002", "Ромашка", "15\u00a0000,00", "Оплата по счёту б/н")


def _requests() -> list[tuple]:
    import sqlalchemy as sa

    from lkk_app.billing import deliveries
    from lkk_app.billing.documents_tables import ReconciliationRequest
    from lkk_app.db import session_scope

    with session_scope() as db:
        rows = db.execute(sa.select(ReconciliationRequest.contract_key, ReconciliationRequest.status)).all()
        jobs = db.execute(sa.select(deliveries.BillingDelivery.idempotency_key).where(
            deliveries.BillingDelivery.kind == deliveries.RECONCILIATION)).all()
        return sorted(map(tuple, rows)) + sorted(map(tuple, jobs))


def _victims_documents() -> list[str]:
    from lkk_app.billing import store
    from lkk_app.db import session_scope

    with session_scope() as db:
        return [d.key for d in store.documents_of(db, "ctr-1001")][-5:]


def test_another_organisations_documents_and_money_stay_hidden(client, make_account, mint, app_server, db_env):
    from lkk_app.state.documents import DocumentsState
    from lkk_app.state.settlements import SettlementsState

    c = _attacker(make_account, mint, client)
    before = _requests()
    theirs = _victims_documents()
    assert theirs
    docs, money = DocumentsState.get_full_name(), SettlementsState.get_full_name()
    c.hydrate("/documents")
    for key in ("ctr-1001", "ctr-1002", " ctr-1001", "x" * 500, ""):
        c.call(f"{docs}.choose_contract", {"key": key}, path="/documents")
        c.call(f"{docs}.request_act", {"form_data": {"act_from": "2026-01", "act_to": "2026-02"}},
               path="/documents")
    for key in theirs:  # selecting another's documents for the .zip
        c.call(f"{docs}.toggle", {"key": key}, path="/documents")
    c.call(f"{docs}.apply_filter", {"form_data": {"kind": "vat_invoice", "status": "", "month_from": "",
                                                  "month_to": ""}}, path="/documents")
    c.hydrate("/settlements")
    for key in ("ctr-1001", "ctr-1002"):
        c.call(f"{money}.choose_contract", {"key": key}, path="/settlements")
    c.call(f"{money}.choose_point", {"key": "tu-1001-2"}, path="/settlements")
    text = c.text()
    for secret in VICTIM_SECRETS:
        assert secret not in text, f"{secret!r} of another organisation was sent"
    assert "Д-3001" in text  # the attacker does see their own contract
    for key in theirs:
        assert key not in text
    # The attacker's own act of reconciliation may be asked for; nothing of the victim's.
    assert [r for r in _requests() if r not in before and ("ctr-1001" in str(r) or "ctr-1002" in str(r))] == []
    assert c.connected
    assert_alive(app_server)


def test_another_organisations_files_are_not_found(make_account, mint, app_server, db_env):
    from lkk_app import routes
    from lkk_app.settings import get_settings

    victim = make_account("victim")
    _bind(victim)
    attacker = make_account("mallory")
    _bind(attacker, ("ctr-3001",), "org-petrov")
    theirs = _victims_documents()
    cookie = {get_settings().session_cookie_name: mint(attacker)}
    with httpx.Client(base_url=app_server.url, cookies=cookie, follow_redirects=False, timeout=30) as http:
        for key in theirs:
            r = http.get(routes.document_file(key))
            assert r.status_code == 404 and b"%PDF" not in r.content
            assert r.headers["cache-control"] == "no-store"
        r = http.get(routes.documents_zip(theirs))
        assert r.status_code == 404 and r.headers["cache-control"] == "no-store"
        for path in ("/files/document/..%2F..%2Fetc%2Fpasswd", "/files/document/" + "x" * 2000,
                     routes.DOCUMENTS_ZIP + "?key=" + "&key=".join(["a"] * 500)):
            assert http.get(path).status_code in (404, 414)
    # Without a session: to the login window, never the file.
    with httpx.Client(base_url=app_server.url, follow_redirects=False, timeout=30) as http:
        r = http.get(routes.document_file(theirs[0]))
        assert r.status_code == 303 and b"%PDF" not in r.content
    assert_alive(app_server)
