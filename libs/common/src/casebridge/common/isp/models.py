"""What intake and review keep of sharing's registry and protocol (replicas built from
sharing's events), so every read decides locally, with no call to another service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, String, Table, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casebridge.common.db import TYPE_ANNOTATION_MAP, service_metadata


class ReplicaBase(DeclarativeBase):
    """The replica tables' own registry (like the event tables): a service whose database has
    them includes this metadata in its migrations' target."""

    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


class PartnerAgency(ReplicaBase):
    """An agency as the partner registry last announced it."""

    __tablename__ = "partner_agency"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    area_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    core_partner: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # The registry's revision of this agency: an older announcement never overwrites a newer.
    revision: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class ProtocolVersion(ReplicaBase):
    """A published version of an area's information-sharing protocol; the highest applies."""

    __tablename__ = "protocol_version"

    area_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    published_at: Mapped[datetime]


class CaseInvitation(ReplicaBase):
    """An agency invited to one case (a complaint or review reference), or no longer."""

    __tablename__ = "case_invitation"

    case_reference: Mapped[str] = mapped_column(String(40), primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    area_id: Mapped[uuid.UUID]
    invited: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime]


class RevokedClient(ReplicaBase):
    """A client whose tokens must stop working, whatever their `exp`."""

    __tablename__ = "revoked_client"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    revoked_at: Mapped[datetime]


# A service that keeps no case data (stats) still refuses a revoked client's tokens: it keeps
# only this replica, and names this metadata in its migrations' target.
REVOCATIONS = service_metadata()
Table.to_metadata(RevokedClient.__table__, REVOCATIONS)  # type: ignore[arg-type]
