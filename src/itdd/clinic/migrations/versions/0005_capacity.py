"""Capacity: a version on virtual patients (the caches key on it) and indexes for a health system's size.

``virtual_patients.version`` is incremented on every change of the row (SQLAlchemy ``version_id_col``, as the
pumps' version), so a result computed from a virtual patient can be cached under its version
(``itdd.clinic.cache``).  Indexes: patients by clinic and name (the paginated patient list), active pumps by
clinic, scheduled appointments by time, refills awaiting a second check (the dashboard).

Revision ID: 0005
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("virtual_patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_index("ix_patients_clinic_name", "patients", ["clinic_id", "name", "id"], unique=False)
    op.create_index("ix_pumps_clinic_active", "pumps", ["clinic_id", "active"], unique=False)
    op.create_index("ix_appointments_status_t", "appointments", ["status", "t_s"], unique=False)
    op.create_index("ix_refills_verified_by_id", "refills", ["verified_by_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_refills_verified_by_id", table_name="refills")
    op.drop_index("ix_appointments_status_t", table_name="appointments")
    op.drop_index("ix_pumps_clinic_active", table_name="pumps")
    op.drop_index("ix_patients_clinic_name", table_name="patients")
    with op.batch_alter_table("virtual_patients", schema=None) as batch_op:
        batch_op.drop_column("version")
