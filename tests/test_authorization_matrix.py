"""The authorization matrix on the agency axis (issue 9, API1 and API5), through the real
services, their workers and tokens from sharing's own token endpoint.

Every operation of every service, tried by eight callers:
- `owner`: the council, which logged the complaint and (as SPOC) received the application;
- `core`: the police, a core partner (the victim consented to sharing);
- `invited`: an agency registered through the admin API and invited to the case;
- `uninvited`: a non-core agency of the same area, registered through the admin API;
- `other_area`: the founding agency of a second area, founded through the admin API;
- `no_token`, `other_service` (a token for another service), `revoked` (a revoked client).

Reads are tried as they are; the status each caller gets is the table below, and no body
given to a caller that may not know the victim holds the victim's name, phone, date of
birth or address. Writes are tried with an empty body: a caller the route admits gets 422
(its token and scope passed; the empty body is refused before anything is written), a
caller it does not admit gets 401 or 403 — so a write never changes anything here, and the
visibility of a record on writes is proved per service (intake's test_visibility and
review's test_sharing_protocol). A route of any service missing from the table fails."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from casebridge.common.auth import ROLES, SCOPES
from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_ID
from casebridge.intake.main import create_app as intake_app
from casebridge.review.main import create_app as review_app
from casebridge.sharing.main import create_app as sharing_app
from casebridge.stats.main import create_app as stats_app
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.poll import poll
from casebridge.testing.routes import api_routes, declared_scopes
from tests.conftest import COMPLAINT
from tests.test_protocol_flow import Partnership, partnership, urn

COUNCIL, _ = DEMO_AGENCIES["council"]
POLICE, _ = DEMO_AGENCIES["police"]
CALLERS = ("owner", "core", "invited", "uninvited", "other_area")
NO_ACCESS = ("no_token", "other_service", "revoked")
SECRETS = ("Ann Example", "020 7946 0018", "7946", "1 Example Street", "SW1A 1AA", "1980-02-03")
VICTIM = {
    **COMPLAINT,
    "complainant": {
        "details": {
            "name": "Ann Example",
            "phone": "020 7946 0018",
            "date_of_birth": "1980-02-03",
            "address": "1 Example Street",
            "postcode": "SW1A 1AA",
        }
    },
}

# The status each of the five callers gets: a read as it is, a write with a JSON list for a
# body (no operation takes one), so a caller a write admits gets 422 and nothing is written.
# Writes without a body (acknowledge, accept, revoke, delete) run for real: callers are
# tried owner last, and those rows say what each caller got in that order.


@dataclass(frozen=True)
class Row:
    owner: int
    core: int
    invited: int
    uninvited: int
    other_area: int

    @classmethod
    def all(cls, status: int) -> Row:
        return cls(status, status, status, status, status)


MATRIX: dict[tuple[str, str, str], Row] = {}


def rows(service: str, table: dict[str, Row]) -> None:
    for operation, row in table.items():
        method, path = operation.split(" ", 1)
        MATRIX[(service, method, path)] = row


# intake. The complaint and the victim's log are the council's. The police (core partner)
# and the invited agency see both by the protocol (the victim consented); the uninvited
# agency and the other area get 404, as for an id that does not exist; lists are 200 and
# hold nothing of the case for them.
rows("intake", {
    "GET /complaints": Row.all(200),
    "POST /complaints": Row.all(422),
    "GET /complaints/by-reference/{reference:path}": Row(200, 200, 200, 404, 404),
    "GET /complaints/{complaint_id}": Row(200, 200, 200, 404, 404),
    "PATCH /complaints/{complaint_id}": Row.all(422),
    "POST /complaints/{complaint_id}/consent": Row.all(422),
    "GET /complaints/{complaint_id}/duplicates": Row(200, 200, 200, 404, 404),
    "POST /complaints/{complaint_id}/link": Row.all(422),
    "POST /complaints/{complaint_id}/references": Row.all(422),
    "GET /complaints/{complaint_id}/risk-assessments": Row(200, 200, 200, 404, 404),
    "POST /complaints/{complaint_id}/risk-assessments": Row.all(422),
    "POST /complaints/{complaint_id}/sharing-override": Row.all(422),
    # no body needed: 409 (not linked) for those who see the complaint, 404 for the rest
    "POST /complaints/{complaint_id}/unlink": Row(409, 409, 409, 404, 404),
    "GET /people": Row.all(200),
    "GET /people/{person_id}": Row(200, 200, 200, 404, 404),
    "GET /people/{person_id}/log": Row(200, 200, 200, 404, 404),
    "POST /people/{person_id}/merge": Row.all(422),
    "POST /people/{person_id}/vulnerability": Row.all(422),
    "GET /risk/question-set": Row.all(200),
    "GET /audit/access": Row.all(200),  # each DPO: the reads of its own agency's records
    "GET /complaints/{complaint_id}/timeline": Row(200, 200, 200, 404, 404),
    "GET /people/{person_id}/timeline": Row(200, 200, 200, 404, 404),
})  # fmt: skip

# review. The council is the SPOC and received the application; the police sit on the panel;
# the invited agency was invited to the complaint's case, not to the review; the uninvited
# agency and the other area see nothing of it.
rows("review", {
    "GET /config": Row(200, 200, 200, 200, 404),  # the other area has no procedure yet
    "PUT /config": Row.all(422),
    "GET /reviews": Row.all(200),
    "POST /reviews": Row.all(422),
    "GET /reviews/{reference}": Row(200, 200, 404, 404, 404),
    # acknowledged in the set-up: 409 for those who see the review
    # the police sit on the panel but are not the SPOC agency: 403 `not_the_spoc`
    "POST /reviews/{reference}/accept": Row(409, 403, 404, 404, 404),
    "POST /reviews/{reference}/acknowledge": Row(409, 403, 404, 404, 404),
    "POST /reviews/{reference}/action-plan": Row.all(422),
    "POST /reviews/{reference}/behaviour": Row.all(422),
    "POST /reviews/{reference}/close": Row.all(422),
    "GET /reviews/{reference}/counting": Row(200, 200, 404, 404, 404),
    "GET /reviews/{reference}/deadlines": Row(200, 200, 404, 404, 404),
    "POST /reviews/{reference}/escalate": Row.all(422),
    "POST /reviews/{reference}/escalation/decision": Row.all(422),
    "GET /reviews/{reference}/history": Row(200, 200, 404, 404, 404),
    "GET /reviews/{reference}/letters": Row(200, 200, 404, 404, 404),
    "GET /reviews/{reference}/letters/{letter_id}": Row(200, 200, 404, 404, 404),
    "GET /reviews/{reference}/letters/{letter_id}/pdf": Row(200, 200, 404, 404, 404),
    "POST /reviews/{reference}/meeting": Row.all(422),
    "POST /reviews/{reference}/meeting/held": Row.all(422),
    "POST /reviews/{reference}/outcome": Row.all(422),
    "GET /reviews/{reference}/status": Row(200, 200, 404, 404, 404),
    "POST /reviews/{reference}/threshold": Row.all(422),
    "POST /reviews/{reference}/votes": Row.all(422),
    "POST /reviews/{reference}/access-code": Row(201, 403, 404, 404, 404),  # the SPOC's
    "GET /audit/access": Row.all(200),
    "GET /triggers": Row.all(200),
    "GET /triggers/{trigger_id}": Row.all(404),  # an id no trigger has
    "POST /triggers/{trigger_id}/explained": Row.all(422),
})  # fmt: skip

# sharing. Every caller here holds the administrator role for its own agency: the registry
# of the demo area is administered by its agencies, not by another area's (404). Every
# area's code and name are listed to any administrator (no personal data).
rows("sharing", {
    "GET /agencies": Row.all(200),
    "PATCH /agencies/{agency_id}": Row.all(422),
    "GET /agencies/{agency_id}/clients": Row(200, 200, 200, 200, 404),
    "POST /agencies/{agency_id}/clients": Row(422, 422, 422, 422, 404),
    "GET /agencies/{agency_id}/nats-users": Row(200, 200, 200, 200, 404),
    "POST /agencies/{agency_id}/nats-users": Row(422, 422, 422, 422, 404),
    "GET /agencies/{agency_id}/webhooks": Row(200, 200, 200, 200, 404),
    "POST /agencies/{agency_id}/webhooks": Row(422, 422, 422, 422, 404),
    "GET /areas": Row.all(200),
    "POST /areas": Row.all(422),
    "GET /areas/{area_id}": Row.all(200),
    "GET /areas/{area_id}/agencies": Row(200, 200, 200, 200, 404),
    "POST /areas/{area_id}/agencies": Row.all(422),
    "GET /areas/{area_id}/protocol": Row(200, 200, 200, 200, 404),
    "PUT /areas/{area_id}/protocol": Row(422, 422, 422, 422, 404),
    "GET /areas/{area_id}/protocol/versions": Row(200, 200, 200, 200, 404),
    "GET /areas/{area_id}/protocol/versions/{version}": Row(200, 200, 200, 200, 404),
    "GET /audit/disclosures": Row.all(200),
    "GET /cases/{reference}/invitations": Row(200, 200, 200, 200, 404),
    "POST /cases/{reference}/invitations": Row.all(422),
    "DELETE /cases/{reference}/invitations/{agency_id}": Row.all(404),  # not invited
    # a spare client of the police, revoked by the first caller allowed (idempotent: 204)
    "DELETE /clients/{client_id}": Row(204, 204, 204, 204, 404),
    "POST /clients/{client_id}/secret": Row(409, 409, 409, 409, 404),  # revoked just before
    "GET /deliveries": Row.all(200),
    "GET /disclosures": Row.all(200),
    "DELETE /nats-users/{user_id}": Row(204, 204, 204, 204, 404),
    "PATCH /webhooks/{webhook_id}": Row.all(422),
    "POST /cases/{reference}/updates": Row.all(422),
    "GET /webhook-dead-letters": Row.all(200),  # each agency's own
    "GET /feed": Row.all(200),  # each agency's own deliveries
    "GET /webhook-messages/{message_id}/attempts": Row.all(404),  # an id no message has
    "POST /webhook-dead-letters/{message_id}/redrive": Row.all(404),
})  # fmt: skip

# stats: counts only, each caller's own area.
rows("stats", {
    "GET /stats/case-reviews": Row.all(200),
    "GET /stats/complaints": Row.all(200),
    "GET /stats/data-return": Row.all(200),
    "GET /stats/monthly/{measure}": Row.all(200),
})  # fmt: skip


def test_the_matrix_names_every_operation_of_every_service() -> None:
    apps: dict[str, Callable[[], FastAPI]] = {
        "intake": intake_app,
        "review": review_app,
        "sharing": sharing_app,
        "stats": stats_app,
    }
    operations = {
        (service, method, path)
        for service, create in apps.items()
        for path, method, route in api_routes(create())
        if declared_scopes(route)
    }
    assert not sorted(operations - set(MATRIX)), "operations without a row in the matrix"
    assert not sorted(set(MATRIX) - operations), "rows for operations that do not exist"


@dataclass
class Cast:
    headers: dict[str, dict[str, dict[str, str]]]  # caller -> service -> headers
    ids: dict[str, str]


ALL_SCOPES = sorted(SCOPES)
ALL_ROLES = sorted(ROLES)
SERVICES = ("intake", "review", "sharing", "stats")


async def _client(p: Partnership, admin: dict[str, str], agency_id: str) -> dict[str, Any]:
    """A system client with every scope and role: this matrix is about agencies."""
    created = await p.sharing.post(
        f"/agencies/{agency_id}/clients",
        json={"scopes": ALL_SCOPES, "roles": ALL_ROLES},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    client: dict[str, Any] = created.json()
    return client


async def _agency(p: Partnership, admin: dict[str, str], area: str, body: dict[str, Any]) -> str:
    made = await p.sharing.post(f"/areas/{area}/agencies", json=body, headers=admin)
    assert made.status_code == 201, made.text
    agency_id: str = made.json()["id"]
    return agency_id


async def cast(p: Partnership) -> Cast:
    admin = await p.as_demo("admin", "sharing")
    clients = {
        "owner": await _client(p, admin, str(COUNCIL)),
        "core": await _client(p, admin, str(POLICE)),
        "invited": await _client(
            p, admin, await _agency(p, admin, str(DEMO_AREA_ID), INVITED_AGENCY)
        ),
        "uninvited": await _client(
            p, admin, await _agency(p, admin, str(DEMO_AREA_ID), UNINVITED_AGENCY)
        ),
    }
    founded = await p.sharing.post("/areas", json=OTHER_AREA, headers=admin)
    assert founded.status_code == 201, founded.text
    other = founded.json()
    other_admin = await p.token(
        other["client"]["client_id"], other["client"]["client_secret"], urn("sharing")
    )
    clients["other_area"] = await _client(p, other_admin, other["agency"]["id"])
    revoked = await _client(p, admin, str(POLICE))

    headers = {
        caller: {s: await p.token(c["client_id"], c["client_secret"], urn(s)) for s in SERVICES}
        for caller, c in clients.items()
    }
    headers["revoked"] = {
        s: await p.token(revoked["client_id"], revoked["client_secret"], urn(s)) for s in SERVICES
    }
    gone = await p.sharing.delete(f"/clients/{revoked['client_id']}", headers=admin)
    assert gone.status_code == 204, gone.text
    # A revocation is in force everywhere within the replicas' lag plus the services'
    # revocation refresh (README: about 6 s); the matrix starts once it is.
    assert p.stats is not None
    apps = {"intake": p.intake, "review": p.review, "sharing": p.sharing, "stats": p.stats}
    for service, probe_path in REVOCATION_PROBES.items():

        async def refused(service: str = service, path: str = probe_path) -> bool:
            r = await apps[service].get(path, headers=headers["revoked"][service])
            return r.status_code == 401

        await poll(refused, timeout=20, what=f"{service} refuses the revoked client")
    headers["no_token"] = {s: {} for s in SERVICES}
    headers["other_service"] = {  # the owner's token for the next service along
        s: headers["owner"][SERVICES[(i + 1) % len(SERVICES)]] for i, s in enumerate(SERVICES)
    }

    owner = headers["owner"]
    logged = await p.intake.post("/complaints", json=VICTIM, headers=owner["intake"])
    assert logged.status_code == 201, logged.text
    complaint = logged.json()

    async def invited() -> bool:  # once sharing's case index has the complaint
        r = await p.sharing.post(
            f"/cases/{complaint['reference']}/invitations",
            json={"agency_id": clients["invited"]["agency_id"], "reason": "care needs assessment"},
            headers=admin,
        )
        assert r.status_code in (201, 404), r.text
        return r.status_code == 201

    await poll(invited, timeout=30, what="the invitation to the case")

    applied: dict[str, Any] = {}

    async def review_knows_the_victim() -> bool:
        r = await p.review.post(
            "/reviews",
            json={**APPLICATION, "person_id": complaint["person_id"]},
            headers=owner["review"],
        )
        assert r.status_code in (201, 404), r.text
        applied.update(r.json() if r.status_code == 201 else {})
        return r.status_code == 201

    await poll(review_knows_the_victim, timeout=30, what="review applies for the victim")
    review = applied
    acknowledged = await p.review.post(
        f"/reviews/{review['reference']}/acknowledge", headers=owner["review"]
    )
    assert acknowledged.status_code == 200, acknowledged.text
    letters = await p.review.get(f"/reviews/{review['reference']}/letters", headers=owner["review"])
    assert letters.status_code == 200, letters.text
    assert letters.json(), "the acknowledgement letter"
    nats_user = await p.sharing.post(
        f"/agencies/{COUNCIL}/nats-users", json={"username": "council-matrix"}, headers=admin
    )
    assert nats_user.status_code == 201, nats_user.text
    ids = {
        "complaint_id": complaint["id"],
        "person_id": complaint["person_id"],
        "complaint_reference": complaint["reference"],
        "review_reference": review["reference"],
        "letter_id": letters.json()[0]["id"],
        "trigger_id": str(uuid.uuid4()),
        "area_id": str(DEMO_AREA_ID),
        "agency_id": str(COUNCIL),
        "client_id": (await _client(p, admin, str(POLICE)))["client_id"],
        "webhook_id": str(uuid.uuid4()),
        "message_id": str(uuid.uuid4()),
        "user_id": nats_user.json()["id"],
        "version": "1",
        "measure": "complaints",
    }
    return Cast(headers, ids)


REVOCATION_PROBES = {
    "intake": "/complaints",
    "review": "/reviews",
    "sharing": "/deliveries",
    "stats": "/stats/complaints",
}
INVITED_AGENCY = {"name": "Demo Adult Social Care", "kind": "social_care"}
UNINVITED_AGENCY = {"name": "Demo Small Housing Co-operative", "kind": "housing"}
OTHER_AREA = {
    "code": "OTH",
    "name": "Other Community Safety Partnership",
    "founding_agency": {"name": "Other Borough Council", "kind": "council"},
}
APPLICATION = {
    "applicant_kind": "victim",
    "applicant_name": "Ann Example",
    "applicant_contact": "020 7946 0018",
    "summary": "Music every night from the flat above.",
}


async def probe(p: Partnership, c: Cast) -> list[str]:
    """Every operation for every caller; what differs from the matrix, and any body that
    shows the victim to a caller the protocol gives nothing of the case."""
    assert p.stats is not None
    apps = {"intake": p.intake, "review": p.review, "sharing": p.sharing, "stats": p.stats}
    wrong: list[str] = []
    for service, method, path in sorted(MATRIX, key=lambda op: op[1] != "GET"):
        expected = {**vars(MATRIX[(service, method, path)]), **dict.fromkeys(NO_ACCESS, 401)}
        url = _fill(service, path, c.ids)
        for caller in (*NO_ACCESS, *reversed(CALLERS)):  # the owner last
            body = None if method in ("GET", "DELETE") else []
            r = await apps[service].request(
                method, url, headers=c.headers[caller][service], json=body
            )
            if r.status_code != expected[caller]:
                wrong.append(
                    f"{caller}: {method} {path} -> {r.status_code}, not {expected[caller]}"
                )
            if caller in NOT_TOLD and any(secret in r.text for secret in SECRETS):
                wrong.append(f"{caller}: {method} {path} shows the victim: {r.text[:200]}")
    return wrong


NOT_TOLD = ("uninvited", "other_area", *NO_ACCESS)


async def test_every_operation_for_every_caller(
    migrated_database: MigratedDatabase, own_nats: NatsServer, tmp_path: Path
) -> None:
    async with partnership(migrated_database, own_nats, tmp_path) as p:
        wrong = await probe(p, await cast(p))
    assert not wrong, "\n".join(wrong)


def _fill(service: str, path: str, ids: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "reference":
            return ids["review_reference" if service == "review" else "complaint_reference"]
        return ids[name]

    return re.sub(r"\{([a-z_]+)(?::path)?\}", value, path)
