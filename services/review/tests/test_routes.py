from __future__ import annotations

from casebridge.common.app import PUBLIC_PATHS
from casebridge.review.main import create_app
from casebridge.review.routes.applicant import PUBLIC_PATHS as APPLICANT_PUBLIC

from .conftest import Review


def test_every_route_declares_a_review_scope() -> None:
    """Read from the OpenAPI document: it lists each operation's security requirement."""
    paths = create_app().openapi()["paths"]
    operations = [
        (path, method, operation)
        for path, methods in paths.items()
        if path not in PUBLIC_PATHS | APPLICANT_PUBLIC
        for method, operation in methods.items()
    ]
    assert operations
    for path, method, operation in operations:
        scopes = {s for req in operation.get("security", []) for s in req.get("casebridge", [])}
        assert scopes, f"{method.upper()} {path} declares no scope"
        assert all(s.startswith("reviews:") for s in scopes), path


async def test_routes_refuse_a_missing_token(review: Review) -> None:
    response = await review.client.get("/config")
    assert response.status_code == 401
