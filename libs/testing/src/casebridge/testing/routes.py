"""Enumerate an app's API routes (FastAPI 0.165 includes routers lazily, so `app.routes`
holds wrappers) the scopes and the role each one declares."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from casebridge.common.auth import AnyRole, current_principal
from casebridge.common.auth import declared_roles as roles_of_dependant


def api_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """Every (path, method, route) the app serves, with router prefixes applied."""
    return sorted(
        (
            (path, method, route)
            for path, route in _walk(app.routes, "")
            for method in route.methods or ()
        ),
        key=lambda item: (item[0], item[1]),
    )


def _walk(routes: Iterable[Any], prefix: str) -> Iterator[tuple[str, APIRoute]]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(included.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def declared_scopes(route: APIRoute) -> list[str] | None:
    """The scopes of the route's `Scoped(...)` requirement, or None if it has none."""
    found: list[str] | None = None

    def visit(dependant: Dependant) -> None:
        nonlocal found
        for sub in dependant.dependencies:
            if sub.call is current_principal:
                own = [*(sub.parent_oauth_scopes or ()), *(sub.own_oauth_scopes or ())]
                found = [*(found or []), *own]
            visit(sub)

    visit(route.dependant)
    return found


def declared_roles(route: APIRoute) -> tuple[str, ...] | AnyRole | None:
    """The roles of the route's `Scoped(..., role=...)`/`Viewing(..., role=...)` (any one of
    them will do), AnyRole with its reason, or None if it declares no role."""
    return roles_of_dependant(route.dependant)


def role_rows(app: FastAPI, public: frozenset[str]) -> list[str]:
    """docs/roles.md's table rows for the app's routes: operation, scope, roles."""
    rows = []
    for path, method, route in api_routes(app):
        if path in public:
            continue
        roles = declared_roles(route)
        scopes = " ".join(sorted(set(declared_scopes(route) or [])))
        if isinstance(roles, AnyRole):
            who = f"any role: {roles.reason}"
        else:
            who = ", ".join(f"`{r}`" for r in roles or ("(none)",))
        rows.append(f"| `{method} {path}` | `{scopes}` | {who} |")
    return rows
