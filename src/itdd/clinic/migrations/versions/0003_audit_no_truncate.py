"""The audit log cannot be emptied: PostgreSQL refuses TRUNCATE on it, as it already refuses UPDATE and DELETE.

``TRUNCATE`` fires no row trigger, so the append-only row triggers of 0001 never see it; a statement-level
``BEFORE TRUNCATE`` trigger calling the same function refuses it (also ``TRUNCATE ... CASCADE`` from a table
that references it).  SQLite has no TRUNCATE: its ``DELETE FROM audit_log`` is refused by 0001's trigger.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
