"""A revoked client's tokens stop working before their `exp`, remembered ones included."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from casebridge.common.db import utcnow
from casebridge.intake.models import RevokedClient

from .conftest import POLICE, Intake


async def test_a_revoked_clients_token_is_refused_at_once(intake: Intake) -> None:
    headers = intake.auth(POLICE)
    assert (await intake.client.get("/complaints", headers=headers)).status_code == 200
    async with intake.sessions() as session:
        await session.execute(
            insert(RevokedClient).values(client_id=f"client-{POLICE}", revoked_at=utcnow())
        )
        await session.commit()
    refused = await intake.client.get("/complaints", headers=headers)  # the same token
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    assert (await intake.client.get("/complaints", headers=intake.auth())).status_code == 200
