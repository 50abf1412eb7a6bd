"""«Точки учёта» and «Показания» attacked over a raw websocket and over the
upload endpoint: a logged-in user of one organisation names another
organisation's contracts, points, meters and registers, and hand-makes
submissions that skip the confirmations — and gets nothing of theirs, stores
nothing, and sends nothing to billing."""

from __future__ import annotations

import secrets

import httpx

from tests.attack.conftest import assert_alive
from tests.attack.test_contracts import _bind

VICTIM_SECRETS = ("Склад", "41234567", "45678901", "Демонстрационная", "999 850", "999\u00a0850", "Меркурий")


def _submissions() -> list[tuple]:
    import sqlalchemy as sa

    from lkk_app.billing import deliveries
    from lkk_app.billing.readings import tables
    from lkk_app.db import session_scope

    with session_scope() as db:
        subs = db.execute(sa.select(tables.ReadingSubmission.contract_key, tables.ReadingSubmission.status)).all()
        jobs = db.execute(sa.select(deliveries.BillingDelivery.idempotency_key).where(
            deliveries.BillingDelivery.kind == deliveries.READINGS)).all()
        return sorted(map(tuple, subs)) + sorted(map(tuple, jobs))


def _attacker(make_account, mint, client):
    victim = make_account("victim")
    _bind(victim)  # ctr-1001 of org-romashka
    attacker = make_account("mallory")
    _bind(attacker, ("ctr-3001",), "org-petrov")
    c = client(cookie=attacker.cookie(mint(attacker)))
    return c


def test_another_organisations_points_meters_and_readings_stay_hidden(client, make_account, mint, app_server,
                                                                      db_env):
    from lkk_app.state.points import PointsState
    from lkk_app.state.readings import ReadingsState

    c = _attacker(make_account, mint, client)
    before = _submissions()
    points, readings = PointsState.get_full_name(), ReadingsState.get_full_name()
    c.hydrate("/points")
    for key in ("ctr-1001", "ctr-1002", " ctr-1001", "x" * 500, ""):
        c.call(f"{points}.choose_contract", {"key": key}, path="/points")
    for key in ("tu-1001-1", "tu-1001-2", "tu-1002-2", "pu-1001-2", "x" * 500):
        c.call(f"{points}.open_point", {"key": key}, path="/points")
    for query in ("Скл", "4123", "%", "_"):  # parts: the page echoes the query itself
        c.call(f"{points}.search", {"form_data": {"query": query}}, path="/points")
    c.hydrate("/readings")
    for key in ("ctr-1001", "ctr-1002"):
        c.call(f"{readings}.choose_contract", {"key": key}, path="/readings")
        c.call(f"{readings}.download_template", {}, path="/readings")
    for register in ("pu-1001-2-day", "pu-1001-1b-night"):
        c.call(f"{readings}.preview", {"register_key": register, "value": "5"}, path="/readings")
    text = c.text()
    for secret in VICTIM_SECRETS:
        assert secret not in text, f"{secret!r} of another organisation was sent"
    assert "Магазин" in text  # the attacker does see their own point
    assert _submissions() == before
    assert c.connected
    assert_alive(app_server)


def test_hand_made_submissions_for_another_contract_or_without_confirmations_store_nothing(
        client, make_account, mint, app_server, db_env):
    from lkk_app.state.readings import ReadingsState

    c = _attacker(make_account, mint, client)
    before = _submissions()
    readings = ReadingsState.get_full_name()
    c.hydrate("/readings")
    # The victim's registers through the attacker's own contract, and the victim's contract chosen by hand.
    forms = [
        {"form_key": secrets.token_urlsafe(24), "v:pu-1001-2-day": "999900", "v:pu-1001-2-night": "412400"},
        {"form_key": secrets.token_urlsafe(24), "v:pu-3001-1-total": "1", "w:reading.reverse:pu-3001-1-total": "on"},
        {"form_key": secrets.token_urlsafe(24), "v:pu-3001-1-total": "1",
         "w:reading.reverse:pu-1001-2-day": "on", "c:pu-3001-1-total": "x"},  # another register's tick
        {"form_key": "short", "v:pu-3001-1-total": "16000"},  # not a form key the page made
        {"v:pu-3001-1-total": "1" * 5000},
    ]
    for form in forms:
        c.call(f"{readings}.submit", {"form_data": form}, path="/readings")
    c.call(f"{readings}.choose_contract", {"key": "ctr-1001"}, path="/readings")
    c.call(f"{readings}.submit", {"form_data": {"form_key": secrets.token_urlsafe(24), "v:pu-1001-2-day": "999900",
                                                "v:pu-1001-2-night": "412400"}}, path="/readings")
    c.call(f"{readings}.submit_file", {"form_data": {"w:reading.rollover:pu-1001-2-day": "on"}}, path="/readings")
    text = c.text()
    for secret in VICTIM_SECRETS:
        assert secret not in text, f"{secret!r} of another organisation was sent"
    assert _submissions() == before
    # The same channel does work for a valid value of the attacker's own contract.
    c.call(f"{readings}.choose_contract", {"key": "ctr-3001"}, path="/readings")
    c.call(f"{readings}.submit", {"form_data": {"form_key": secrets.token_urlsafe(24),
                                                "v:pu-3001-1-total": "16000"}}, path="/readings")
    new = [row for row in _submissions() if row not in before and row[0] == "ctr-3001"]
    assert new in ([("ctr-3001", "submitted")], [("ctr-3001", "accepted")]), new
    assert c.connected
    assert_alive(app_server)


def test_an_upload_without_the_tabs_session_reaches_no_one(app_server, make_account, mint, db_env):
    """The upload endpoint finds a tab's state only with that tab's session cookie;
    a guessed or copied token, or no cookie at all, gets an empty state: nothing checked."""
    from lkk_app import routes
    from lkk_app.state.readings import ReadingsState

    handler = f"{ReadingsState.get_full_name()}.upload"
    headers = {"Reflex-Client-Token": secrets.token_hex(16), "Reflex-Event-Handler": handler,
               "Origin": app_server.url}
    files = {"files": ("t.xlsx", b"PK\x03\x04" + b"0" * 100,
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    with httpx.Client(base_url=app_server.url, timeout=30) as http:
        answer = http.post(routes.UPLOAD, headers=headers, files=files)
        assert answer.status_code in (200, 400), answer.text[:200]
        assert "Склад" not in answer.text and "Файл проверен" not in answer.text
        big = http.post(routes.UPLOAD, headers=headers, content=b"x" * (3 * 1024 * 1024))
        assert big.status_code == 413
        foreign = http.post(routes.UPLOAD, headers={**headers, "Origin": "https://evil.example"}, files=files)
        assert foreign.status_code == 403
    assert_alive(app_server)
