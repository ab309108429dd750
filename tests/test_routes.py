"""Every route of every service declares its scope (AUTH-R5, API5) and its role (issue 15),
is documented (API9),
and refuses methods it does not serve with 405 (API5). Public routes are an explicit list."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant

from casebridge.common.app import PUBLIC_PATHS
from casebridge.common.auth import ROLES, SCOPES, AnyRole, service_of_scope
from casebridge.common.schemas import QueryParams, Schema
from casebridge.intake.main import create_app as intake_app
from casebridge.intake.open311 import PUBLIC_PATHS as OPEN311_PUBLIC
from casebridge.review.main import create_app as review_app
from casebridge.review.routes.applicant import PUBLIC_PATHS as APPLICANT_PUBLIC
from casebridge.sharing.main import create_app as sharing_app
from casebridge.sharing.routes import PUBLIC_PATHS as OAUTH_PUBLIC
from casebridge.stats.main import create_app as stats_app
from casebridge.stats.public import PUBLIC_PATHS as STATS_PUBLIC
from casebridge.testing.routes import api_routes, declared_roles, declared_scopes, role_rows

APPS: dict[str, tuple[Callable[[], FastAPI], frozenset[str]]] = {
    "intake": (intake_app, PUBLIC_PATHS | OPEN311_PUBLIC),
    "sharing": (sharing_app, PUBLIC_PATHS | OAUTH_PUBLIC),
    "review": (review_app, PUBLIC_PATHS | APPLICANT_PUBLIC),
    "stats": (stats_app, PUBLIC_PATHS | STATS_PUBLIC),
}


@pytest.mark.parametrize("service", list(APPS))
def test_every_route_declares_a_scope_of_its_own_service(service: str) -> None:
    create, public = APPS[service]
    routes = api_routes(create())
    assert len(routes) > len(public & {p for p, _, _ in routes})  # the walk found routes
    unscoped = [f"{m} {p}" for p, m, r in routes if p not in public and not declared_scopes(r)]
    assert not unscoped, f"routes without a scope requirement: {unscoped}"
    for path, method, route in routes:
        for scope in declared_scopes(route) or []:
            assert scope in SCOPES, f"{method} {path}: unknown scope {scope}"
            assert service_of_scope(scope) == service, f"{method} {path}: {scope} is not ours"


@pytest.mark.parametrize("service", list(APPS))
def test_every_route_declares_a_role(service: str) -> None:
    """Beside its scope, the role it needs (any one of several), or AnyRole with the reason
    every role of an agency with the scope may use it: never left out."""
    create, public = APPS[service]
    routes = [(p, m, r) for p, m, r in api_routes(create()) if p not in public]
    missing = [f"{m} {p}" for p, m, r in routes if declared_roles(r) is None]
    assert not missing, f"routes without a role: {missing}"
    for path, method, route in routes:
        roles = declared_roles(route)
        if isinstance(roles, AnyRole):
            assert len(roles.reason) > 10, f"{method} {path}: AnyRole needs its reason"
        else:
            assert roles, f"{method} {path}: no role named"
            assert set(roles) <= ROLES.keys(), f"{method} {path}: {roles}"


@pytest.mark.parametrize("service", list(APPS))
def test_docs_roles_lists_every_operation_with_its_roles(service: str) -> None:
    create, public = APPS[service]
    text = (Path(__file__).parents[1] / "docs" / "roles.md").read_text()
    table = text.split(f"### {service}\n", 1)[1].split("\n### ", 1)[0]
    documented = {line for line in table.splitlines() if line.startswith("| `")}
    assert documented == set(role_rows(create(), public))


@pytest.mark.parametrize("service", list(APPS))
def test_every_operation_documents_its_roles(service: str) -> None:
    create, public = APPS[service]
    app = create()
    spec = app.openapi()
    for path, method, route in api_routes(app):
        if path in public:
            continue
        operation = spec["paths"][path.replace(":path}", "}")][method.lower()]
        roles = declared_roles(route)
        if isinstance(roles, AnyRole):
            assert operation["x-casebridge-roles"] == {"any": roles.reason}
            assert roles.reason in operation["description"]
        else:
            assert operation["x-casebridge-roles"] == list(roles or ())
            assert all(f"`{r}`" in operation["description"] for r in roles or ())


@pytest.mark.parametrize("service", list(APPS))
def test_every_route_is_documented_with_its_security(service: str) -> None:
    create, public = APPS[service]
    app = create()
    spec = app.openapi()
    for path, method, _route in api_routes(app):
        operation = spec["paths"].get(path.replace(":path}", "}"), {}).get(method.lower())
        assert operation is not None, f"{method} {path} is not in the OpenAPI document"
        if path not in public:
            assert operation.get("security"), f"{method} {path} documents no security"


def _dependants(dependant: Dependant) -> list[Dependant]:
    return [dependant, *(d for sub in dependant.dependencies for d in _dependants(sub))]


@pytest.mark.parametrize("service", list(APPS))
def test_query_models_read_the_query_as_text(service: str) -> None:
    """A model of query parameters must be a QueryParams: a Schema takes JSON's own types
    only, and every query value is text (`?months=12` would be refused)."""
    create, _ = APPS[service]
    wrong = [
        f"{method} {path}: {field.name}"
        for path, method, route in api_routes(create())
        for dependant in _dependants(route.dependant)
        for field in dependant.query_params
        if isinstance(field.field_info.annotation, type)
        and issubclass(field.field_info.annotation, Schema)
        and not issubclass(field.field_info.annotation, QueryParams)
    ]
    assert not wrong, f"query models that are not QueryParams: {wrong}"


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("intake", "/complaints"),
        ("stats", "/stats/complaints"),
        ("review", "/triggers"),
        ("sharing", "/deliveries"),
    ],
)
async def test_unsupported_method_is_405(service: str, path: str) -> None:
    create, _ = APPS[service]
    transport = httpx.ASGITransport(app=create())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.request("DELETE", path)
    assert response.status_code == 405
    assert "allow" in {k.lower() for k in response.headers}


@pytest.mark.parametrize("service", list(APPS))
async def test_options_and_405_list_every_method_of_the_path(service: str) -> None:
    """Each method of a path is a route of its own: the Allow header must name them all,
    exactly as the OpenAPI document does (schemathesis' allow_header_conformance)."""
    create, _ = APPS[service]
    app = create()
    documented: dict[str, set[str]] = {
        path: {m.upper() for m in item} for path, item in app.openapi()["paths"].items()
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path, methods in documented.items():
            concrete = re.sub(r"\{[^}]+\}", "x", path).replace("x.x", "x.json")
            options = await client.options(concrete)
            assert options.status_code == 204, (path, options.status_code)
            allowed = set(options.headers["allow"].split(", "))
            assert allowed == methods | {"OPTIONS"}, (path, allowed)
            unused = next(m for m in ("DELETE", "PUT", "PATCH", "POST") if m not in methods)
            refused = await client.request(unused, concrete)
            assert refused.status_code == 405, (path, unused, refused.status_code)
            assert set(refused.headers["allow"].split(", ")) == methods | {"OPTIONS"}


async def test_responses_carry_security_headers_and_are_counted_by_route() -> None:
    """API8 headers on every response, errors included; metrics by route template."""
    app = stats_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            refused = await client.get("/stats/complaints")
            metrics = await client.get("/metrics")
    assert refused.status_code == 401
    for response in (refused, metrics):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"
    assert 'route="/stats/complaints",service="stats",status="401"' in metrics.text


@pytest.mark.parametrize("service", list(APPS))
def test_every_operation_documents_the_errors_it_sends(service: str) -> None:
    """Issue 8, item 7: the real error bodies, not FastAPI's loc/msg/type, and the statuses
    each kind of operation answers with."""
    create, _ = APPS[service]
    spec = create().openapi()
    assert "HTTPValidationError" not in str(spec)
    assert {"ErrorBody", "ValidationErrorBody"} <= spec["components"]["schemas"].keys()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            if path.startswith("/open311/"):  # the spec's own errors, in JSON and XML
                assert {"400", "403", "404", "413"} <= responses.keys(), where
                assert "422" not in responses, where
                continue
            assert "VALIDATION" in str(responses["422"]).upper(), where
            if operation.get("security"):
                assert {"401", "403"} <= responses.keys(), where
            if "{" in path:
                assert "404" in responses, where
            if "requestBody" in operation:
                assert {"400", "413"} <= responses.keys(), where
