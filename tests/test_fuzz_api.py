"""Issue 11: the API fuzzes itself. Every operation of the OpenAPI document (read from the
app, so operations added later are fuzzed too), as each role, with Schemathesis's positive
and negative cases plus hostile values put into their fields: never a 5xx, every answer
documented and matching its schema, and a refused request changes nothing."""

import copy
import json
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine
from sqlmodel import Session

from tests.factories import World, api_token
from tests.fuzzing import FUZZ_SETTINGS, REQUEST_COUNTS, Seeded, Unchanged, hostile_values, seed

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Examples per operation, role and generation mode: 26 operations × 3 roles × 2 modes, about
# 550 requests, keep a run near a minute on SQLite (the counts are printed at the end).
EXAMPLES = 4
# Operations left out, each with its reason (none is left out silently).
EXCLUDED = {
    "DELETE /api/v1/auth/token": "revokes the fuzzer's own token; covered by test_api.py",
}


def _real_ids(case: Any, data: st.DataObject, seeded: Seeded) -> None:
    """Real ids in the path most of the time (else nearly every case is a 404)."""
    for name in list(case.path_parameters or {}):
        if data.draw(st.booleans()):
            case.path_parameters[name] = seeded.value(name)


def _hostile_into(fields: dict[str, Any] | None, data: st.DataObject, *, json_body: bool) -> None:
    """A hostile value into one of `fields` (in place), some of the time."""
    if not fields or not data.draw(st.integers(0, 2)):
        return
    key = data.draw(st.sampled_from(sorted(fields, key=str)))
    value = data.draw(hostile_values())
    if not json_body:
        # Only JSON can carry a lone surrogate (escaped); a URL or a form carries the bytes a
        # client would send for it, which arrive as U+FFFD. A URL holds at most 64 KB (httpx
        # refuses more before sending).
        value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")[:8000]
    fields[key] = value


def _send(client: TestClient, case: Any, headers: dict[str, str], data: st.DataObject) -> Any:
    """The case as a request, with a hostile value put into its query or body some of the
    time (into copies: Schemathesis re-validates the case itself, and cannot take a lone
    surrogate)."""
    query = dict(case.query or {})
    _hostile_into(query, data, json_body=False)
    if case.media_type in (None, "application/json"):
        path = case.operation.path
        for name, value in (case.path_parameters or {}).items():
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        request: dict[str, Any] = {
            "method": case.method,
            "url": path,
            "params": query or None,
            "headers": {**headers, **(case.headers or {})},
        }
        if isinstance(case.body, bytes):
            request["content"] = case.body  # a raw body Schemathesis made invalid on purpose
            request["headers"]["Content-Type"] = "application/json"
        elif case.body is not NOT_SET:
            body = copy.deepcopy(case.body)
            _hostile_into(body if isinstance(body, dict) else None, data, json_body=True)
            # Escaped ASCII JSON: a lone surrogate travels as "\\ud800", as a client sends it.
            request["content"] = json.dumps(body)
            request["headers"]["Content-Type"] = "application/json"
        return client.request(**request, follow_redirects=False)
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    sent = {k: kwargs[k] for k in ("method", "url", "headers") if k in kwargs}
    sent["params"] = query or None
    for key in ("data", "files", "content", "json"):
        if key in kwargs:
            sent[key] = copy.deepcopy(kwargs[key]) if key == "data" else kwargs[key]
    if isinstance(sent.get("data"), dict):
        _hostile_into(sent["data"], data, json_body=False)
    return client.request(**sent, follow_redirects=False)


@pytest.mark.parametrize("role", ["team", "unit", "executive"])
def test_every_api_operation_as_every_role(
    client: TestClient, session: Session, engine: Engine, world: World, role: str
) -> None:
    seeded = seed(session, world)
    user = {"team": world.team, "unit": world.putr_head, "executive": world.executive}[role]
    headers = api_token(client, user)
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    fuzzed = [op for op in operations if op.label not in EXCLUDED]
    assert len(operations) >= 20
    assert set(EXCLUDED) <= {op.label for op in operations}, "stale exclusion"
    failures: list[str] = []
    for operation in fuzzed:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, client=client, engine=engine, headers=headers, seeded=seeded)
            except Unsatisfiable:
                continue  # no invalid input exists (an operation without parameters)
            except Exception as exc:  # collect every operation's failure, then fail once
                failures.append(f"{operation.label} [{mode.value}]: {exc}"[:2000])
    assert not failures, "\n\n".join(failures)


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    *,
    client: TestClient,
    engine: Engine,
    headers: dict[str, str],
    seeded: Seeded,
) -> None:
    unchanged = Unchanged(engine)

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def check(case: Any, data: st.DataObject) -> None:
        _real_ids(case, data, seeded)
        response = _send(client, case, headers, data)
        REQUEST_COUNTS[f"api fuzzer ({engine.dialect.name})"] += 1
        if case.media_type == "multipart/form-data":
            # Schemathesis's checks re-read a sent multipart stream, which httpx cannot: the
            # same checks by hand (no 5xx; a documented status; JSON with `detail` on errors).
            documented = case.operation.definition.raw["responses"]
            assert response.status_code < 500, response.text
            assert str(response.status_code) in documented, response.status_code
            if response.status_code >= 400:
                assert "detail" in response.json()
        else:
            case.validate_response(response, checks=CHECKS)
        unchanged.after(response.status_code, operation.label)

    check()
