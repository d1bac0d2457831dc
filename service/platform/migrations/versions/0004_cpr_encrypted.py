"""CPR encrypted at rest: cases.cpr (plain digits) becomes cases.cpr_encrypted (AES-GCM under
FASTHOLD_DATA_KEY) and cases.cpr_hash (keyed hash for lookups)

Plain CPR numbers already stored are encrypted here, with the data cipher handed to the
migration by `service.platform.db.migrate` (`config.attributes["data_cipher"]`); after it,
the database file is rewritten (see `migrate.scrub`) so that no freed page keeps the digits.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.platform.crypto import KEY_ENV, DataCipher

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PURPOSE = "cases.cpr"  # as in service.intake.service


def _cipher(needed_for: int) -> DataCipher:
    cipher = op.get_context().config.attributes.get("data_cipher")
    if cipher is None:
        raise RuntimeError(f"{needed_for} stored CPR numbers must be (de)crypted by this "
                           f"migration: set {KEY_ENV} and run `fasthold db upgrade` again")
    return cipher


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("cpr_encrypted", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("cpr_hash", sa.String(length=64), nullable=True))
        batch.create_index("ix_cases_cpr_hash", ["municipality_id", "cpr_hash"])
    connection = op.get_bind()
    cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("cpr", sa.String),
                     sa.column("cpr_encrypted", sa.String), sa.column("cpr_hash", sa.String))
    plain = connection.execute(sa.select(cases.c.id, cases.c.cpr).where(
        cases.c.cpr.is_not(None))).all()
    if plain:
        cipher = _cipher(len(plain))
        connection.execute(
            cases.update().where(cases.c.id == sa.bindparam("row_id")).values(
                cpr_encrypted=sa.bindparam("sealed"), cpr_hash=sa.bindparam("hashed")),
            [{"row_id": row_id, "sealed": cipher.encrypt(cpr, PURPOSE),
              "hashed": cipher.lookup_hash(cpr)} for row_id, cpr in plain])
        # The plain digits are still in freed pages (SQLite) or dead rows (PostgreSQL):
        # `migrate.upgrade` rewrites the table once the migration has committed.
        op.get_context().config.attributes["scrub"] = True
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("cpr")


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("cpr", sa.String(length=10), nullable=True))
    connection = op.get_bind()
    cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("cpr", sa.String),
                     sa.column("cpr_encrypted", sa.String))
    sealed = connection.execute(sa.select(cases.c.id, cases.c.cpr_encrypted).where(
        cases.c.cpr_encrypted.is_not(None))).all()
    if sealed:
        cipher = _cipher(len(sealed))
        connection.execute(
            cases.update().where(cases.c.id == sa.bindparam("row_id")).values(
                cpr=sa.bindparam("plain")),
            [{"row_id": row_id, "plain": cipher.decrypt(token, PURPOSE)}
             for row_id, token in sealed])
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_cpr_hash")
        batch.drop_column("cpr_hash")
        batch.drop_column("cpr_encrypted")
