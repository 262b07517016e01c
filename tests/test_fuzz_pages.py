"""Issue 11: the pages fuzz themselves. Every HTML route of the app's route table (so pages
and forms added later are fuzzed too): GET pages with hostile query parameters, POST forms
with hostile, missing and wrong-typed fields (the fields come from the forms the pages
render and from the routes' declared form parameters), as each role. Never a 5xx; a 4xx is
the app's own page; a refused request changes nothing."""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session

from app.routes import task_filters
from tests.factories import World, login
from tests.fuzzing import (
    FUZZ_SETTINGS,
    HOSTILE,
    REQUEST_COUNTS,
    Seeded,
    Unchanged,
    hostile_values,
    seed,
)
from tests.routes import AppRoute, app_routes

# Routes left out, each with its reason (none is left out silently).
EXCLUDED = {
    ("POST", "/logout"): "ends the fuzzer's own session; covered by test_auth.py",
}
# What a page may answer to anything at all (redirects after a form, the app's errors).
ANSWERS = {200, 204, 303, 304, 400, 401, 403, 404, 405, 409, 410, 413, 422}
EXAMPLES_PER_ROLE = 40
SWEEP = ("a\x00b", "x\ud800y", "A" * 100_000, "99999999999999999999")


@dataclass
class Target:
    method: str
    path: str  # with real ids
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    """The forms of a page: action, method and fields with their current values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, dict[str, str]]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((a.get("action", ""), a.get("method", "get").upper(), {}))
        elif self.forms and tag in ("input", "textarea", "select") and a.get("name"):
            fields = self.forms[-1][2]
            fields.setdefault(
                a["name"], a.get("value", "on" if a.get("type") == "checkbox" else "")
            )
            self._select = a["name"] if tag == "select" else None
        elif tag == "option" and self._select and self.forms:
            fields = self.forms[-1][2]
            if not fields.get(self._select):
                fields[self._select] = a.get("value", "")


def _declared_fields(route: AppRoute) -> list[str]:
    """Form and query parameters the route declares (a form model's fields by name)."""
    query: list[Any] = []
    body: list[Any] = []

    read: list[str] = []

    def walk(dependant: Dependant) -> None:
        query.extend(dependant.query_params)
        body.extend(dependant.body_params)
        if dependant.call is task_filters.filter_query:
            read.extend(task_filters.FILTER_PARAMS)  # read from the query string itself
        for sub in dependant.dependencies:
            walk(sub)

    walk(route.route.dependant)
    names = [p.alias for p in query] + read
    for param in body:
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += list(annotation.model_fields)
        else:
            names.append(param.alias)
    return names


def _fill(path: str, seeded: Seeded) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: seeded.value(m.group(1)), path)


def discover(client: TestClient, seeded: Seeded) -> list[Target]:
    """Every page route (not /api), with the fields of the forms the pages render for it."""
    routes = [
        r
        for r in app_routes(client.app)  # type: ignore[arg-type]
        if not r.path.startswith("/api/") and (r.method, r.path) not in EXCLUDED
    ]
    targets = {
        (r.method, _fill(r.path, seeded)): Target(r.method, _fill(r.path, seeded)) for r in routes
    }
    for route in routes:
        target = targets[(route.method, _fill(route.path, seeded))]
        target.fields.update(dict.fromkeys(_declared_fields(route), ""))
    # Crawl every GET page as the team: the forms say what each route is sent.
    for (method, path), _ in list(targets.items()):
        if method != "GET":
            continue
        page = client.get(path, follow_redirects=False)
        if "text/html" not in page.headers.get("content-type", ""):
            continue
        parser = _Forms()
        parser.feed(page.text)
        for action, form_method, fields in parser.forms:
            action_path = urlsplit(action).path or urlsplit(path).path
            found = targets.get((form_method, action_path))
            if found is not None:
                found.fields.update({k: v for k, v in fields.items() if k != "csrf_token"})
    return sorted(targets.values(), key=lambda t: (t.path, t.method))


def _request(client: TestClient, target: Target, values: dict[str, str], csrf: str) -> Any:
    if target.method == "GET":
        return client.get(target.path, params=values, follow_redirects=False)
    return client.request(
        target.method,
        target.path,
        data={**values, "csrf_token": csrf},
        follow_redirects=False,
    )


def _check(response: Any, target: Target, unchanged: Unchanged, engine: Engine) -> None:
    REQUEST_COUNTS[f"page fuzzer ({engine.dialect.name})"] += 1
    what = f"{target.method} {target.path}"
    status = response.status_code
    assert status < 500, (what, response.text[:500])
    assert status in ANSWERS, (what, status)
    if status >= 400 and status != 401:
        # The app's own page, or its JSON `detail` for a machine endpoint (the Telegram
        # webhook), never Starlette's bare text.
        if response.headers["content-type"].startswith("application/json"):
            assert "detail" in response.json(), what
        else:
            assert response.headers["content-type"].startswith("text/html"), what
            assert "<!doctype html>" in response.text, what
    unchanged.after(status, what)


def _safe(value: str) -> str:
    # A form or a URL carries the bytes a client sends for a lone surrogate: U+FFFD.
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@pytest.mark.parametrize("role", ["unit", "executive", "team"])
def test_every_page_and_form_as_every_role(
    client: TestClient, session: Session, engine: Engine, world: World, role: str
) -> None:
    seeded = seed(session, world)
    login(client, world.team)
    targets = discover(client, seeded)
    assert len(targets) >= 50
    user = {"team": world.team, "unit": world.putr_head, "executive": world.executive}[role]
    csrf = login(client, user)
    unchanged = Unchanged(engine)

    # Every route at least once with a hostile class in every field (every class as the
    # team, who reaches every form; NUL as the others).
    classes = SWEEP if role == "team" else SWEEP[:1]
    for target in targets:
        for hostile in classes:
            limit = 4000 if target.method == "GET" else None  # a URL holds at most 64 KB
            values = {name: _safe(hostile)[:limit] for name in target.fields or {"q": ""}}
            _check(_request(client, target, values, csrf), target, unchanged, engine)

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES_PER_ROLE)
    @given(target=st.sampled_from(targets), data=st.data())
    def fuzz(target: Target, data: st.DataObject) -> None:
        values: dict[str, str] = {}
        for name, current in target.fields.items():
            choice = data.draw(st.sampled_from(["keep", "keep", "hostile", "drop"]))
            if choice == "keep":
                values[name] = current
            elif choice == "hostile":
                values[name] = _safe(str(data.draw(hostile_values())))[:4000]
        if data.draw(st.booleans()):
            values[data.draw(st.sampled_from(["q", "x", "note", "version", "status"]))] = _safe(
                data.draw(st.sampled_from(HOSTILE))
            )[:4000]
        _check(_request(client, target, values, csrf), target, unchanged, engine)

    fuzz()
