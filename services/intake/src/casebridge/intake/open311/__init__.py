"""Open311 GeoReport v2 for public reporting apps (api_key, not bearer tokens)."""

from __future__ import annotations

# Routes that authenticate by the reporting app's api_key (or are public discovery): the
# route-scope test allows exactly these without a bearer-token scope.
PUBLIC_PATHS = frozenset(
    {
        "/open311/v2/discovery.{format}",
        "/open311/v2/services.{format}",
        "/open311/v2/services/{service_code}.{format}",
        "/open311/v2/requests.{format}",
        "/open311/v2/requests/{service_request_id}.{format}",
        "/open311/v2/tokens/{token}.{format}",
    }
)
