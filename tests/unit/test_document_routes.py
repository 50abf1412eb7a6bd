"""The documents' file routes over HTTP (Starlette's TestClient on
``build_http_app()``): one's own document as a PDF with its Russian name and
``no-store``; someone else's, an unknown one, one still being prepared → 404;
no session → the login window; several as one .zip; more than 50 refused."""

from __future__ import annotations

import io
import warnings
import zipfile
from urllib.parse import quote, unquote

import pytest
from sqlmodel import Session

from lkk_app import routes
from lkk_app.billing import store
from lkk_app.billing.types import DocumentKind
from lkk_app.settings import get_settings
from lkk_app.web.http.documents import content_disposition
from tests.factories import make_session

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.asyncio


@pytest.fixture
def world(app_db, two_organisations):
    demo_world, ann, eve = two_organisations
    with Session(demo_world.engine) as db:
        tokens = {"ann": make_session(db, ann), "eve": make_session(db, eve)}
        invoice = next(d for d in store.documents_of(db, "ctr-1001", kinds=[DocumentKind.VAT_INVOICE.value])
                       if f"{d.period_from:%Y-%m}" == "2026-10")
        october = [d.key for d in store.documents_of(db, "ctr-1001") if f"{d.period_from:%Y-%m}" == "2026-10"]
    return demo_world, tokens, invoice, october


def client(token: str | None = None) -> TestClient:
    from lkk_app.web.http import build_http_app

    http = TestClient(build_http_app(), follow_redirects=False)
    if token:
        http.cookies.set(get_settings().session_cookie_name, token)
    return http


async def test_ones_own_document_comes_as_a_pdf_with_its_russian_name(world):
    _, tokens, invoice, _ = world
    r = client(tokens["ann"]).get(routes.document_file(invoice.key))
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    name = unquote(disposition.split("filename*=UTF-8''")[1])
    assert name == "Счёт-фактура № СФ 2610-1001 от 31.10.2026.pdf"
    assert disposition.split('filename="')[1].split('"')[0].isascii()


@pytest.mark.parametrize("who", ["eve", "ann"])
async def test_someone_elses_or_an_unknown_document_is_not_found(world, who):
    _, tokens, invoice, _ = world
    key = invoice.key if who == "eve" else "doc-nothing-here"
    r = client(tokens[who]).get(routes.document_file(key))
    assert r.status_code == 404 and r.headers["cache-control"] == "no-store"
    assert b"%PDF" not in r.content and "Документ не найден" in r.text


async def test_without_a_session_the_file_is_not_given(world):
    _, _, invoice, _ = world
    for http, ended in ((client(), False), (client("forged-token-" + "x" * 30), True)):
        r = http.get(routes.document_file(invoice.key))
        assert r.status_code == 303 and r.headers["location"].startswith(routes.LOGIN)
        assert b"%PDF" not in r.content
        # A cookie that opens no session any more: the login window says it has ended.
        assert r.headers["location"].endswith("&expired=1") is ended


async def test_several_documents_come_as_one_zip(world):
    _, tokens, _, october = world
    r = client(tokens["ann"]).get(routes.documents_zip(october))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert r.headers["cache-control"] == "no-store"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert len(names) == len(october) >= 3
    assert "Документы (" in unquote(r.headers["content-disposition"])
    # One document of another organisation spoils the whole archive; so do too many.
    assert client(tokens["eve"]).get(routes.documents_zip(october)).status_code == 404
    too_many = routes.documents_zip([f"doc-{n}" for n in range(51)])
    assert client(tokens["ann"]).get(too_many).status_code == 404


async def test_the_name_survives_any_characters():
    name = 'Акт "сверки"; № 1.pdf'
    header = content_disposition(name)
    fallback = header.split('filename="')[1].split('"')[0]
    assert fallback.isascii() and fallback.endswith("_1.pdf") and set(fallback) <= set("_1.pdf")
    assert header.endswith("filename*=UTF-8''" + quote(name, safe="")) and header.count('"') == 2
