"""the surname's sound on each log, indexed with the date of birth: name variants with the
same date of birth or postcode are offered as candidates

Revision ID: 8b3e5d2f0c21
Revises: 7a2d4c1e9b10
Create Date: 2026-11-29 10:10:00
"""

from collections.abc import Sequence
from uuid import UUID

import jellyfish
import sqlalchemy as sa
from alembic import op

revision: str = "8b3e5d2f0c21"
down_revision: str | None = "7a2d4c1e9b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def surname_key(name_norm: str) -> str | None:
    """The key as matching computed it when this revision was written (frozen here: the
    revision must not change with the code): the metaphone of the name's last word of
    letters."""
    words = [word for word in name_norm.split() if word.isalpha()]
    return (jellyfish.metaphone(words[-1])[:60] or None) if words else None


def upgrade() -> None:
    op.add_column("person", sa.Column("surname_key", sa.String(length=60)))
    _backfill()
    op.create_index(
        "ix_person_match_surname_dob",
        "person",
        ["area_id", "surname_key", "date_of_birth"],
        postgresql_where=sa.text("merged_into_id IS NULL AND surname_key IS NOT NULL"),
    )


def _backfill() -> None:
    """Every log's key, computed by the same function matching uses, in batches by id."""
    bind = op.get_bind()
    select = sa.text("SELECT id, name_norm FROM person WHERE id > :last ORDER BY id LIMIT :n")
    update = sa.text("UPDATE person SET surname_key = :key WHERE id = :id")
    last = UUID(int=0)
    while rows := bind.execute(select, {"last": last, "n": BATCH}).all():
        keyed = [{"id": r.id, "key": surname_key(r.name_norm)} for r in rows]
        keyed = [k for k in keyed if k["key"] is not None]
        if keyed:
            bind.execute(update, keyed)
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_person_match_surname_dob", table_name="person")
    op.drop_column("person", "surname_key")
