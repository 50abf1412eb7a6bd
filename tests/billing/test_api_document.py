"""docs/billing-api.yaml is valid OpenAPI 3.1, documents every route of the
reference server, and describes the records exactly as the adapters send them."""

from __future__ import annotations

import dataclasses
import re
import secrets
import typing
from pathlib import Path

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from lkk_app.billing import types as records
from lkk_app.billing.reference_server import ROUTES
from tests.billing.conftest import TOKEN, ReferenceServer

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "billing-api.yaml"
PREFIX = "/v1"
# Records that travel over the wire, by their schema name.
WIRE_RECORDS = ["Organisation", "Curator", "ReadingWindow", "Contract", "ContractMatch", "MeteringPoint",
                "Register", "Transformer", "Meter", "RegisterValue", "Installation", "Ack", "Health",
                "Reading", "ReadingEntry", "EntryResult", "ReadingsAck", "DocumentLine", "Document", "Allocation",
                "Payment", "Balance", "PlanItem"]


@pytest.fixture(scope="module")
def doc() -> dict:
    return yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))


def test_the_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_the_validator_catches_a_broken_document(doc):
    broken = {**doc, "paths": {**doc["paths"], "/broken": {"get": {"responses": {"200": {"content": 5}}}}}}
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_every_route_of_the_reference_server_is_documented_and_nothing_else(doc):
    served = {(method.lower(), path.removeprefix(PREFIX)) for method, path, _ in ROUTES}
    documented = {(method, path) for path, item in doc["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    assert served == documented
    assert doc["servers"][0]["url"].endswith(PREFIX)


def test_every_post_requires_an_idempotency_key_and_everything_needs_the_token(doc):
    assert doc["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert "401" in op["responses"], (method, path)
            if method == "post":
                refs = [p.get("$ref") for p in op.get("parameters", [])]
                assert "#/components/parameters/IdempotencyKey" in refs, path


@pytest.mark.parametrize("name", WIRE_RECORDS)
def test_schemas_list_exactly_the_fields_of_the_records(doc, name):
    schema = doc["components"]["schemas"][name]
    fields = [f.name for f in dataclasses.fields(getattr(records, name))]
    assert sorted(schema["properties"]) == sorted(fields)
    assert sorted(schema["required"]) == sorted(fields)
    hints = typing.get_type_hints(getattr(records, name))
    for field, tp in hints.items():
        enum_type = next((a for a in (tp, *typing.get_args(tp))
                          if isinstance(a, type) and issubclass(a, records.Labelled)), None)
        if enum_type is None:
            continue
        prop = schema["properties"][field]
        if "$ref" in prop:
            prop = doc["components"]["schemas"][prop["$ref"].rsplit("/", 1)[1]]
        assert prop["enum"] == [m.value for m in enum_type], (name, field)


def test_the_readings_request_is_a_submission_without_its_contract(doc):
    schema = doc["components"]["schemas"]["ReadingsRequest"]
    fields = [f.name for f in dataclasses.fields(records.ReadingsSubmission) if f.name != "contract_key"]
    assert sorted(schema["properties"]) == sorted(schema["required"]) == sorted(fields)


def test_change_kinds_are_the_documented_ones(doc):
    (kind,) = [p for p in doc["paths"]["/changes/{kind}"]["get"]["parameters"] if p["name"] == "kind"]
    assert kind["schema"]["enum"] == [k.value for k in records.ChangeKind]


def _validator(doc: dict, name: str) -> Draft202012Validator:
    return Draft202012Validator({**doc, "$ref": f"#/components/schemas/{name}"},
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_a_schema_rejects_a_wrong_shape(doc):
    assert not _validator(doc, "Contract").is_valid({"key": "x"})
    assert not _validator(doc, "Decimal").is_valid("1e5")


def test_answers_of_the_reference_server_match_the_schemas(doc, reference_server: ReferenceServer):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=reference_server.url + PREFIX, headers=auth) as client:
        def check(name: str, response: httpx.Response, status: int = 200) -> dict:
            assert response.status_code == status, response.text
            body = response.json()
            errors = [e.message for e in _validator(doc, name).iter_errors(body)]
            assert errors == [], (name, body)
            return body

        check("Health", client.get("/health"))
        match = check("ContractMatch", client.post(
            "/contracts/lookup", json={"inn": "7701000001", "kpp": "770101001", "number": "Д-1001"},
            headers={"Idempotency-Key": secrets.token_urlsafe(12)}))
        check("Error", client.post("/contracts/lookup", json={"inn": "1", "kpp": None, "number": "x"},
                                   headers={"Idempotency-Key": secrets.token_urlsafe(12)}), 404)
        org = match["organisation"]["key"]
        check("Organisation", client.get(f"/organisations/{org}"))
        for item in client.get(f"/organisations/{org}/contracts").json()["items"]:
            check("Contract", client.get(f"/contracts/{item['key']}"))
        for kind in records.ChangeKind:
            check("ChangePage", client.get(f"/changes/{kind.value}", params={"limit": 1000}))
        check("Ack", client.post("/contracts/ctr-1001/binding", json={"bound": True},
                                 headers={"Idempotency-Key": secrets.token_urlsafe(12)}))
        readings = {"as_of": "2026-12-01", "source": "customer_form",
                    "entries": [{"register_key": "pu-3001-1-total", "value": "15800.0",
                                 "confirmed_warnings": [], "comment": ""},
                                {"register_key": "nope", "value": "1", "confirmed_warnings": [], "comment": ""}]}
        ack = check("ReadingsAck", client.post("/contracts/ctr-3001/readings", json=readings,
                                                headers={"Idempotency-Key": secrets.token_urlsafe(12)}))
        assert [r["status"] for r in ack["results"]] == ["accepted", "rejected"]
        check("Error", client.post("/contracts/ctr-3001/readings", json={**readings, "entries": []},
                                   headers={"Idempotency-Key": secrets.token_urlsafe(12)}), 400)
        check("Error", client.post("/contracts/ctr-none/readings", json=readings,
                                   headers={"Idempotency-Key": secrets.token_urlsafe(12)}), 404)
        check("Ack", client.post("/contracts/ctr-1001/reconciliation",
                                 json={"period_from": "2026-01-01", "period_to": "2026-10-31"},
                                 headers={"Idempotency-Key": secrets.token_urlsafe(12)}))
        check("Error", client.post("/contracts/ctr-1001/reconciliation", json={"period_from": "x"},
                                   headers={"Idempotency-Key": secrets.token_urlsafe(12)}), 400)
        check("Error", client.post("/contracts/ctr-1001/binding", json={"bound": True}), 400)
        check("Error", client.post("/contracts/ctr-1001/binding", content=b"[",
                                   headers={"Idempotency-Key": secrets.token_urlsafe(12)}), 400)
        check("Error", client.get("/changes/contracts", params={"cursor": "x"}), 400)
        check("Error", client.get("/contracts/ctr-none"), 404)
        check("Error", client.get("/no-such-route"), 404)


def test_documented_error_codes_are_the_ones_the_code_uses(doc):
    text = DOC_PATH.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", text))
    source = "".join((Path(records.__file__).parent / name).read_text(encoding="utf-8")
                     for name in ("reference_server.py", "adapters/demo.py", "adapters/http.py",
                                  "adapters/demo_readings.py"))
    used = set(re.findall(r'"([a-z_]+\.[a-z_]+)"', source)) - {"lkk_app.billing.reference_server"}
    assert used - documented == set()
